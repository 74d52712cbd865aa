// The scheduling queue, shaped like kube-scheduler's: activeQ (priority,
// then arrival), backoffQ (pods waiting out 1s, 2s, 4s .. 10s after failed
// attempts) and unschedulable pods parked until a cluster event may help
// them or they have waited maxInUnschedulableMs.
import type { Clock } from './clock.js';
import { Heap } from './heap.js';
import type { Pod } from './types.js';
import { podKey } from './types.js';

export interface QueuedPod {
  pod: Pod;
  readonly key: string;
  /** Scheduling attempts so far (incremented on pop). */
  attempts: number;
  /** When the pod (re)entered activeQ, for FIFO order within a priority. */
  timestamp: number;
  /** When the pod first entered the queue. */
  readonly initialTimestamp: number;
  /** Plugins that rejected it on the last attempt; events for others do not move it. */
  unschedulablePlugins: Set<string>;
  /** When the last attempt failed; backoff and the unschedulable timeout count from here. */
  lastFailure: number;
}

export interface QueueOptions {
  clock: Clock;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Unschedulable pods are retried after this long even without events (kube: 5 min). */
  maxInUnschedulableMs?: number;
  /** Called whenever a pod enters activeQ (new, released from backoff, moved by an event). */
  onActive?: () => void;
}

type Where = 'active' | 'backoff' | 'unschedulable' | 'inflight';

interface Entry {
  qp: QueuedPod;
  where: Where;
  seq: number;
  backoffUntil: number;
  deleted?: boolean;
}

export class SchedulingQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly active = new Heap<{ e: Entry; seq: number }>((a, b) => {
    const pa = a.e.qp.pod.spec.priority ?? 0;
    const pb = b.e.qp.pod.spec.priority ?? 0;
    if (pa !== pb) return pa > pb;
    return a.e.qp.timestamp !== b.e.qp.timestamp ? a.e.qp.timestamp < b.e.qp.timestamp : a.seq < b.seq;
  });
  private readonly backoff = new Heap<{ e: Entry; seq: number }>((a, b) => a.e.backoffUntil < b.e.backoffUntil);
  private activeCount = 0;
  private backoffCount = 0;
  private readonly parked = new Set<Entry>();
  private seq = 0;
  private waiters: ((qp: QueuedPod | undefined) => void)[] = [];
  private cancelBackoffTimer?: () => void;
  private backoffTimerAt = Infinity;
  private cancelFlushTimer?: () => void;
  private closed = false;
  /** Incremented on each pop; lets a failed attempt see whether an event arrived meanwhile. */
  schedulingCycle = 0;
  private moveRequestCycle = -1;
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly onActive: () => void;

  constructor(opts: QueueOptions) {
    this.clock = opts.clock;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxInUnschedulableMs = opts.maxInUnschedulableMs ?? 5 * 60_000;
    this.onActive = opts.onActive ?? (() => {});
    this.scheduleFlush();
  }

  get lengths(): { active: number; backoff: number; unschedulable: number; inflight: number } {
    return { active: this.activeCount, backoff: this.backoffCount, unschedulable: this.parked.size, inflight: this.entries.size - this.activeCount - this.backoffCount - this.parked.size };
  }

  /** Where a pod is, or undefined when it is not queued. */
  where(key: string): Where | undefined {
    return this.entries.get(key)?.where;
  }

  /** A new pending pod enters activeQ; a known one is updated. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.entries.has(key)) return this.update(pod);
    const now = this.clock.now();
    const e: Entry = { qp: { pod, key, attempts: 0, timestamp: now, initialTimestamp: now, unschedulablePlugins: new Set(), lastFailure: 0 }, where: 'active', seq: 0, backoffUntil: 0 };
    this.entries.set(key, e);
    this.toActive(e);
  }

  /** A pending pod changed: an unschedulable one gets another try (after its backoff). */
  update(pod: Pod): void {
    const e = this.entries.get(podKey(pod));
    if (!e) return this.add(pod);
    const before = e.qp.pod;
    e.qp.pod = pod;
    // Status-only updates (including our own "Unschedulable" condition) must not retry the pod.
    if (e.where === 'unschedulable' && schedulingRelevantChange(before, pod)) this.release(e);
  }

  /** The pod was deleted or bound elsewhere. */
  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.leave(e);
    e.deleted = true;
    this.entries.delete(key);
  }

  /** The next pod to schedule, waiting until one is active; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> {
    const qp = this.tryPop();
    if (qp || this.closed) return Promise.resolve(qp);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  tryPop(): QueuedPod | undefined {
    for (;;) {
      const item = this.active.pop();
      if (!item) return undefined;
      if (item.e.where !== 'active' || item.e.seq !== item.seq) continue;
      this.activeCount--;
      item.e.where = 'inflight';
      item.e.qp.attempts++;
      this.schedulingCycle++;
      return item.e.qp;
    }
  }

  /** The attempt failed: park the pod, or back it off if an event arrived during the attempt. */
  addUnschedulable(qp: QueuedPod, podSchedulingCycle: number, plugins: Iterable<string>): void {
    const e = this.entries.get(qp.key);
    if (!e || e.where !== 'inflight' || e.qp !== qp) return;
    qp.unschedulablePlugins = new Set(plugins);
    qp.lastFailure = this.clock.now();
    if (this.moveRequestCycle >= podSchedulingCycle) return this.toBackoff(e);
    e.where = 'unschedulable';
    this.parked.add(e);
  }

  /** The attempt hit an error (for example binding failed): retry after backoff. */
  requeueWithBackoff(qp: QueuedPod): void {
    const e = this.entries.get(qp.key);
    if (!e || e.where !== 'inflight' || e.qp !== qp) return;
    qp.lastFailure = this.clock.now();
    this.toBackoff(e);
  }

  /** Scheduling finished (the pod is bound or assumed): forget it. */
  done(key: string): void {
    const e = this.entries.get(key);
    if (e && e.where === 'inflight') this.entries.delete(key);
  }

  /**
   * A cluster event may make parked pods schedulable: move those rejected by
   * one of `plugins` (all when undefined) to activeQ, or backoffQ if still
   * backing off.
   */
  moveOnEvent(plugins?: Set<string>): void {
    this.moveRequestCycle = this.schedulingCycle;
    // Deleting the current element while iterating a Set is safe.
    for (const e of this.parked) {
      if (plugins && e.qp.unschedulablePlugins.size > 0 && ![...e.qp.unschedulablePlugins].some((p) => plugins.has(p))) continue;
      this.release(e);
    }
  }

  /** Backoff after `attempts` failures: initial * 2^(attempts-1), capped. */
  backoffDuration(attempts: number): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoffMs) return this.maxBackoffMs;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  close(): void {
    this.closed = true;
    this.cancelBackoffTimer?.();
    this.cancelFlushTimer?.();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private release(e: Entry): void {
    this.leave(e);
    const until = this.backoffUntilOf(e.qp);
    if (until > this.clock.now()) this.toBackoff(e, until);
    else this.toActive(e);
  }

  private backoffUntilOf(qp: QueuedPod): number {
    if (qp.attempts === 0) return 0;
    return qp.lastFailure + this.backoffDuration(qp.attempts);
  }

  private leave(e: Entry): void {
    if (e.where === 'active') this.activeCount--;
    else if (e.where === 'backoff') this.backoffCount--;
    else if (e.where === 'unschedulable') this.parked.delete(e);
    e.where = 'inflight';
  }

  private toActive(e: Entry): void {
    e.where = 'active';
    e.seq = ++this.seq;
    e.qp.timestamp = this.clock.now();
    this.activeCount++;
    this.active.push({ e, seq: e.seq });
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.tryPop());
    else this.onActive();
  }

  private toBackoff(e: Entry, until?: number): void {
    e.where = 'backoff';
    e.seq = ++this.seq;
    e.backoffUntil = until ?? this.backoffUntilOf(e.qp);
    this.backoffCount++;
    this.backoff.push({ e, seq: e.seq });
    this.armBackoffTimer();
  }

  private armBackoffTimer(): void {
    const top = this.peekBackoff();
    if (!top || this.closed) return;
    if (top.e.backoffUntil >= this.backoffTimerAt) return;
    this.cancelBackoffTimer?.();
    this.backoffTimerAt = top.e.backoffUntil;
    this.cancelBackoffTimer = this.clock.setTimeout(() => {
      this.backoffTimerAt = Infinity;
      this.cancelBackoffTimer = undefined;
      this.flushBackoff();
    }, top.e.backoffUntil - this.clock.now());
  }

  private peekBackoff(): { e: Entry; seq: number } | undefined {
    for (;;) {
      const top = this.backoff.peek();
      if (!top) return undefined;
      if (top.e.where === 'backoff' && top.e.seq === top.seq) return top;
      this.backoff.pop();
    }
  }

  /** Moves pods whose backoff has expired to activeQ. */
  private flushBackoff(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.peekBackoff();
      if (!top || top.e.backoffUntil > now) break;
      this.backoff.pop();
      this.backoffCount--;
      this.toActive(top.e);
    }
    this.armBackoffTimer();
  }

  /** Every 30s, retries pods parked longer than maxInUnschedulableMs. */
  private scheduleFlush(): void {
    this.cancelFlushTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      const now = this.clock.now();
      for (const e of this.parked) {
        if (now - e.qp.lastFailure >= this.maxInUnschedulableMs) this.release(e);
      }
      this.scheduleFlush();
    }, 30_000);
  }
}

/** Whether a pod changed in a way that can change where it fits (not status or resourceVersion). */
export function schedulingRelevantChange(a: Pod, b: Pod): boolean {
  if (a === b) return false;
  return JSON.stringify([a.spec, a.metadata.labels, a.metadata.annotations]) !== JSON.stringify([b.spec, b.metadata.labels, b.metadata.annotations]);
}
