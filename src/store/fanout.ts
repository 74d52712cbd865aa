// In-process watch fan-out: delivers committed events to watchers by prefix,
// in revision order, asynchronously (never inside the writer's call stack).
import type { WatchEvent, WatchOptions, Watcher } from './types.js';

interface Subscriber {
  prefix: string;
  opts: WatchOptions;
  queue: WatchEvent[];
  scheduled: boolean;
  cancelled: boolean;
}

export class Fanout {
  private subs = new Set<Subscriber>();

  /** Registers a watcher, first queueing the catch-up events given (already in order). */
  subscribe(prefix: string, opts: WatchOptions, backlog: WatchEvent[]): Watcher {
    const sub: Subscriber = { prefix, opts, queue: [...backlog], scheduled: false, cancelled: false };
    this.subs.add(sub);
    if (sub.queue.length) this.schedule(sub);
    return {
      cancel: () => {
        sub.cancelled = true;
        this.subs.delete(sub);
      },
    };
  }

  /** Queues a committed event to every matching watcher. */
  publish(event: WatchEvent): void {
    for (const sub of this.subs) {
      if (!event.key.startsWith(sub.prefix)) continue;
      sub.queue.push(event);
      this.schedule(sub);
    }
  }

  /** Fails and removes every watcher (store closing). */
  closeAll(err: Error): void {
    for (const sub of this.subs) {
      sub.cancelled = true;
      sub.opts.onError?.(err);
    }
    this.subs.clear();
  }

  get size(): number {
    return this.subs.size;
  }

  private schedule(sub: Subscriber): void {
    if (sub.scheduled) return;
    sub.scheduled = true;
    setImmediate(() => {
      sub.scheduled = false;
      const batch = sub.queue.splice(0);
      for (const ev of batch) {
        if (sub.cancelled) return;
        sub.opts.onEvent(ev);
      }
    });
  }
}
