// A rate-limited work queue with client-go's semantics: an item is queued
// at most once (dirty set), never handed to two workers at once (processing
// set; re-adds during processing are queued on done()), delayed adds, and
// per-item back-off through AddRateLimited/Forget.
import { realClock, type Clock } from './clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit.js';

export interface WorkQueue<K> {
  add(item: K): void;
  /** Adds after ms (coalescing with an earlier pending delay for the same item). */
  addAfter(item: K, ms: number): void;
  /** Adds after the rate limiter's delay for this item. */
  addRateLimited(item: K): void;
  /** Clears the item's retry history. */
  forget(item: K): void;
  numRequeues(item: K): number;
  /** Waits for the next item; undefined once shut down. */
  get(): Promise<K | undefined>;
  /** Marks an item from get() finished. */
  done(item: K): void;
  readonly length: number;
  shutDown(): void;
  readonly shuttingDown: boolean;
}

export interface WorkQueueOptions<K> {
  clock?: Clock;
  rateLimiter?: RateLimiter<K>;
}

export function createWorkQueue<K>(opts: WorkQueueOptions<K> = {}): WorkQueue<K> {
  const clock = opts.clock ?? realClock;
  const limiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(clock);
  const queue: K[] = [];
  const dirty = new Set<K>();
  const processing = new Set<K>();
  const waiting = new Map<K, { at: number; cancel: () => void }>();
  let waiters: ((k: K | undefined) => void)[] = [];
  let shutting = false;

  function add(item: K): void {
    if (shutting || dirty.has(item)) return;
    dirty.add(item);
    if (processing.has(item)) return;
    const w = waiters.shift();
    if (w) {
      dirty.delete(item);
      processing.add(item);
      w(item);
      return;
    }
    queue.push(item);
  }

  function addAfter(item: K, ms: number): void {
    if (shutting) return;
    if (ms <= 0) return add(item);
    const at = clock.now() + ms;
    const prev = waiting.get(item);
    if (prev && prev.at <= at) return;
    prev?.cancel();
    const cancel = clock.setTimeout(() => {
      waiting.delete(item);
      add(item);
    }, ms);
    waiting.set(item, { at, cancel });
  }

  return {
    add,
    addAfter,
    addRateLimited(item) {
      addAfter(item, limiter.when(item));
    },
    forget(item) {
      limiter.forget(item);
    },
    numRequeues(item) {
      return limiter.numRequeues(item);
    },
    get() {
      if (queue.length) {
        const item = queue.shift()!;
        dirty.delete(item);
        processing.add(item);
        return Promise.resolve(item);
      }
      if (shutting) return Promise.resolve(undefined);
      return new Promise((resolve) => waiters.push(resolve));
    },
    done(item) {
      processing.delete(item);
      if (dirty.has(item)) {
        dirty.delete(item);
        add(item);
      }
    },
    get length() {
      return queue.length;
    },
    shutDown() {
      shutting = true;
      for (const w of waiting.values()) w.cancel();
      waiting.clear();
      const ws = waiters;
      waiters = [];
      for (const w of ws) w(undefined);
    },
    get shuttingDown() {
      return shutting;
    },
  };
}
