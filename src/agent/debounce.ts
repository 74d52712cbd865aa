// Coalesces bursts of informer events into one run of an async job: at most
// one run at a time, and a request during a run schedules exactly one more,
// `delayMs` after it. With `leading`, a request while idle does not wait
// either: the job runs as soon as the current batch of events has been
// handled (setImmediate) — where a watch's change-to-effect latency is won —
// while a burst during a run still costs one more run, not one per event.

export interface Debounced {
  /** Asks for a run (runs already asked for are merged). */
  request(): void;
  /** Resolves when no run is pending or in progress. */
  idle(): Promise<void>;
  stop(): void;
}

export interface DebounceOptions {
  /** Run at once (next turn of the event loop) when idle, instead of after delayMs. */
  leading?: boolean;
}

export function debounce(job: () => Promise<void>, delayMs: number, onError: (err: unknown) => void, opts: DebounceOptions = {}): Debounced {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const waiters: (() => void)[] = [];
  const pending = () => timer !== undefined || immediate !== undefined;
  const settle = () => {
    if (!pending() && !running) for (const w of waiters.splice(0)) w();
  };
  const run = () => {
    timer = undefined;
    immediate = undefined;
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
      else if (!pending()) {
        if (opts.leading) immediate = setImmediate(run);
        else timer = setTimeout(run, delayMs);
      }
    },
    idle: () => (pending() || running ? new Promise<void>((r) => waiters.push(r)) : Promise.resolve()),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      timer = undefined;
      immediate = undefined;
      settle();
    },
  };
}
