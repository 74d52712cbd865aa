// Bounded exponential back-off with optional jitter, used for watch
// reconnects and per-item work-queue retries.

export interface BackoffOptions {
  /** First delay (ms). */
  initialMs: number;
  /** Cap on any delay (ms). */
  maxMs: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /** Fraction of random extra delay, 0..1 (default 0). */
  jitter?: number;
  random?: () => number;
}

/** Delay for the n-th consecutive failure (n from 0). */
export function backoffDelay(opts: BackoffOptions, n: number): number {
  const base = Math.min(opts.maxMs, opts.initialMs * Math.pow(opts.factor ?? 2, Math.min(n, 64)));
  const j = opts.jitter ?? 0;
  if (!j) return base;
  return Math.min(opts.maxMs, base + base * j * (opts.random ?? Math.random)());
}

/** Tracks consecutive failures; reset() after a success. */
export class Backoff {
  private failures = 0;
  constructor(private readonly opts: BackoffOptions) {}
  /** The next delay, counting one more failure. */
  next(): number {
    return backoffDelay(this.opts, this.failures++);
  }
  reset(): void {
    this.failures = 0;
  }
  get attempts(): number {
    return this.failures;
  }
}
