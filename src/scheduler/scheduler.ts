// The scheduler component: keeps a Snapshot and a SchedulingQueue fed from
// pod/node/namespace events, schedules one pod at a time, assumes the
// result, and binds asynchronously through an injected callback, so it can
// be wired to informers and the pods/binding subresource unchanged.
import { forComponent, type Logger } from '../log/logger.js';
import { Algorithm, schedule, type AlgorithmOptions, type ScheduleResult } from './algorithm.js';
import { realClock, type Clock } from './clock.js';
import { SchedulingQueue, type QueuedPod, type QueueOptions } from './queue.js';
import { Snapshot } from './snapshot.js';
import type { Namespace, Node, Pod } from './types.js';
import { podKey } from './types.js';

export { schedule, Algorithm, type ScheduleResult };

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A watch-style event, as an informer delivers it. */
export type ClusterEvent =
  | { kind: 'Pod'; type: EventType; object: Pod }
  | { kind: 'Node'; type: EventType; object: Node }
  | { kind: 'Namespace'; type: EventType; object: Namespace };

/** Where events come from; handler calls are synchronous. Returns an unsubscribe function. */
export interface EventSource {
  subscribe(handler: (ev: ClusterEvent) => void): () => void;
}

export interface SchedulerConfig extends AlgorithmOptions {
  /** Writes the decision (POST pods/binding); rejection requeues the pod with backoff. */
  bind(pod: Pod, nodeName: string): Promise<void>;
  /** Records why the pod fits nowhere (PodScheduled=False, reason Unschedulable). */
  markUnschedulable(pod: Pod, message: string, reasons: Record<string, number>): Promise<void>;
  events: EventSource;
  /** Only pods with this spec.schedulerName (default "default-scheduler"; unset counts as default). */
  schedulerName?: string;
  clock?: Clock;
  queue?: Omit<QueueOptions, 'clock'>;
  snapshot?: Snapshot;
  /** The process's root logger; the scheduler logs nothing without one. */
  logger?: Logger;
}

export interface SchedulerStats {
  attempts: number;
  bound: number;
  unschedulable: number;
  bindErrors: number;
}

export interface Handle {
  readonly snapshot: Snapshot;
  readonly queue: SchedulingQueue;
  stats(): SchedulerStats;
  /** Resolves when activeQ is empty and no cycle or bind is in flight. */
  waitForIdle(): Promise<void>;
  stop(): Promise<void>;
}

// Which plugins' rejections an event can undo (a coarse form of kube's queueing hints).
const onAssignedPodChange = new Set(['PodTopologySpread', 'InterPodAffinity']);
const onAssignedPodDelete = new Set(['NodeResourcesFit', 'NodePorts', 'PodTopologySpread', 'InterPodAffinity']);
const onNamespaceChange = new Set(['InterPodAffinity']);

/** Starts the scheduling loop; nothing runs until events arrive. */
export async function start(config: SchedulerConfig): Promise<Handle> {
  const clock = config.clock ?? realClock;
  const snapshot = config.snapshot ?? new Snapshot();
  const queue = new SchedulingQueue({ clock, ...config.queue, onActive: () => kick() });
  const algorithm = new Algorithm(config);
  const schedulerName = config.schedulerName ?? 'default-scheduler';
  const log = config.logger ? forComponent(config.logger, 'scheduler') : undefined;
  const stats: SchedulerStats = { attempts: 0, bound: 0, unschedulable: 0, bindErrors: 0 };
  let inflightBinds = 0;
  let busy = false;
  let stopped = false;
  let idleWaiters: (() => void)[] = [];

  const checkIdle = () => {
    if (busy || inflightBinds > 0 || queue.lengths.active > 0) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  };

  const ours = (pod: Pod) => (pod.spec.schedulerName ?? 'default-scheduler') === schedulerName;

  function onPod(type: EventType, pod: Pod): void {
    const key = podKey(pod);
    if (type === 'DELETED') {
      const wasAssigned = snapshot.hasPod(key);
      snapshot.removePod(key);
      queue.delete(key);
      if (wasAssigned) queue.moveOnEvent(onAssignedPodDelete);
      return;
    }
    if (pod.spec.nodeName) {
      // Assigned (by us or anyone): the cache follows the API, replacing an assumed copy.
      snapshot.upsertPod(pod);
      queue.delete(key);
      queue.moveOnEvent(onAssignedPodChange);
      return;
    }
    if (!ours(pod)) return;
    if (pod.metadata.deletionTimestamp) {
      queue.delete(key);
      return;
    }
    // The cache already places it (assumed, or bound and not yet confirmed): a stale pending copy.
    if (snapshot.hasPod(key)) return;
    queue.add(pod);
  }

  function onEvent(ev: ClusterEvent): void {
    if (stopped) return;
    switch (ev.kind) {
      case 'Pod':
        return onPod(ev.type, ev.object);
      case 'Node':
        if (ev.type === 'DELETED') snapshot.removeNode(ev.object.metadata.name);
        else {
          const before = snapshot.node(ev.object.metadata.name)?.node;
          snapshot.upsertNode(ev.object);
          // Heartbeat-only updates (conditions, images) cannot make a pod fit.
          if (!before || nodeSchedulingChange(before, ev.object)) queue.moveOnEvent();
        }
        return;
      case 'Namespace':
        if (ev.type === 'DELETED') snapshot.removeNamespace(ev.object.metadata.name);
        else snapshot.upsertNamespace(ev.object);
        queue.moveOnEvent(onNamespaceChange);
        return;
    }
  }

  function bindAsync(qp: QueuedPod, nodeName: string): void {
    inflightBinds++;
    config.bind(qp.pod, nodeName).then(
      () => {
        snapshot.finishBinding(qp.key);
        queue.done(qp.key);
        stats.bound++;
      },
      (err: unknown) => {
        stats.bindErrors++;
        log?.warn({ pod: qp.key, node: nodeName, err: String(err) }, 'binding failed');
        snapshot.forget(qp.key);
        queue.requeueWithBackoff(qp);
        queue.moveOnEvent(onAssignedPodDelete);
      },
    ).finally(() => {
      inflightBinds--;
      checkIdle();
    });
  }

  function scheduleOne(qp: QueuedPod): void {
    const cycle = queue.schedulingCycle;
    stats.attempts++;
    const res = algorithm.schedule(qp.pod, snapshot);
    if ('node' in res) {
      snapshot.assume(qp.pod, res.node);
      bindAsync(qp, res.node);
      return;
    }
    stats.unschedulable++;
    queue.addUnschedulable(qp, cycle, res.diagnosis.unschedulablePlugins);
    config.markUnschedulable(qp.pod, res.unschedulable, res.reasons).catch((err: unknown) => {
      log?.warn({ pod: qp.key, err: String(err) }, 'recording unschedulable pod failed');
    });
  }

  // Drains activeQ in slices, yielding to the event loop so events and bind
  // completions interleave with scheduling.
  function kick(): void {
    if (busy || stopped) return;
    busy = true;
    setImmediate(loop);
  }

  function loop(): void {
    const sliceEnd = performance.now() + 20;
    while (!stopped) {
      const qp = queue.tryPop();
      if (!qp) break;
      scheduleOne(qp);
      if (performance.now() > sliceEnd) {
        setImmediate(loop);
        return;
      }
    }
    busy = false;
    checkIdle();
  }

  const unsubscribe = config.events.subscribe(onEvent);

  return {
    snapshot,
    queue,
    stats: () => ({ ...stats }),
    waitForIdle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        kick();
        checkIdle();
      });
    },
    async stop() {
      stopped = true;
      unsubscribe();
      queue.close();
      while (inflightBinds > 0) await new Promise((r) => setImmediate(r));
      checkIdle();
    },
  };
}

/** Whether a node update touches what plugins read: labels, taints, cordon, allocatable. */
export function nodeSchedulingChange(a: Node, b: Node): boolean {
  const view = (n: Node) => JSON.stringify([n.metadata.labels, n.spec?.taints, n.spec?.unschedulable, n.status?.allocatable ?? n.status?.capacity]);
  return view(a) !== view(b);
}
