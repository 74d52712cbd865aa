// Coalesces bursts of informer events into one run of an async job: at most
// one run at a time, and a request during a run schedules exactly one more.

export interface Debounced {
  /** Asks for a run after `delayMs` (runs already asked for are merged). */
  request(): void;
  /** Resolves when no run is pending or in progress. */
  idle(): Promise<void>;
  stop(): void;
}

export function debounce(job: () => Promise<void>, delayMs: number, onError: (err: unknown) => void): Debounced {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const waiters: (() => void)[] = [];
  const settle = () => {
    if (!timer && !running) for (const w of waiters.splice(0)) w();
  };
  const run = () => {
    timer = undefined;
    if (stopped) return settle();
    if (running) {
      again = true;
      return;
    }
    running = job().catch(onError).finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        timer = setTimeout(run, delayMs);
      }
      settle();
    });
  };
  return {
    request() {
      if (stopped) return;
      if (running) again = true;
      else if (!timer) timer = setTimeout(run, delayMs);
    },
    idle: () => (timer || running ? new Promise<void>((r) => waiters.push(r)) : Promise.resolve()),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      settle();
    },
  };
}
