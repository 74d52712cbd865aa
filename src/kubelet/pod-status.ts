// Pure: the PodStatus the kubelet reports from what it observed of the
// runtime (sandbox IP, each container's state, restarts, readiness): phase,
// the four conditions with stable transition times, containerStatuses.
import type { ContainerStatus, Pod, PodStatus } from '../api/core.js';
import type { Condition } from '../api/meta.js';

export type ObservedState =
  | { running: { startedAt: string } }
  | { waiting: { reason: string; message?: string } }
  | { terminated: { exitCode: number; reason: string; message?: string; startedAt?: string; finishedAt?: string; containerID?: string } };

export interface ObservedContainer {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  state: ObservedState;
  lastState?: ObservedState;
  restartCount: number;
  ready: boolean;
  /** Running and past its startup probe (containerStatuses[].started). */
  started: boolean;
  /** Exited and will not be started again (restartPolicy). */
  final: boolean;
}

export interface ObservedPod {
  hostIP: string;
  podIP?: string;
  startTime: string;
  sandboxReady: boolean;
  containers: ObservedContainer[];
  initContainers?: ObservedContainer[];
  /** Every init container has completed successfully (true when there are none). */
  initialized?: boolean;
  /** Pod-level reason/message (e.g. sandbox creation failing). */
  reason?: string;
  message?: string;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Pending / Running / Succeeded / Failed by the Kubernetes rules for regular containers. */
export function podPhase(o: ObservedPod): NonNullable<PodStatus['phase']> {
  const cs = o.containers;
  if ((o.initContainers ?? []).some((c) => c.final && 'terminated' in c.state && c.state.terminated.exitCode !== 0)) return 'Failed';
  if (o.initialized === false) return 'Pending';
  if (cs.length > 0 && cs.every((c) => c.final && 'terminated' in c.state)) {
    return cs.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  if (!o.sandboxReady) return 'Pending';
  // Running once every container runs or has run (a crashed one restarting counts); a
  // container still waiting for its startup probe is running, just not `started`.
  if (cs.every((c) => 'running' in c.state || c.started || c.restartCount > 0 || 'terminated' in c.state)) return 'Running';
  return 'Pending';
}

function condition(type: string, ok: boolean, previous: Condition[] | undefined, reason?: string, message?: string): Condition {
  const st = ok ? 'True' : 'False';
  const prev = previous?.find((c) => c.type === type);
  const c: Condition = { type, status: st, lastTransitionTime: prev && prev.status === st && prev.lastTransitionTime ? prev.lastTransitionTime : now() };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

export type PostedPodStatus = Omit<PodStatus, 'reason' | 'message'> & { reason: string | null; message: string | null };

/** The status to post for the pod (merge-patch shape: absent pod-level reason/message are null). */
export function podStatus(pod: Pod, o: ObservedPod): PostedPodStatus {
  const prevConds = pod.status?.conditions;
  const phase = podPhase(o);
  const notReady = o.containers.filter((c) => !c.ready).map((c) => c.name);
  const ready = notReady.length === 0 && phase === 'Running';
  const reasonNR = phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady';
  const msgNR = notReady.length ? `containers with unready status: [${notReady.join(' ')}]` : undefined;
  const toStatus = (c: ObservedContainer): ContainerStatus => ({
    name: c.name,
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.image,
    imageID: c.imageID,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    started: c.started,
    state: c.state as unknown as Record<string, Record<string, unknown>>,
    lastState: (c.lastState ?? {}) as unknown as Record<string, Record<string, unknown>>,
  });
  const containerStatuses = o.containers.map(toStatus);
  const initialized = o.initialized !== false;
  return {
    phase,
    conditions: [
      condition('PodReadyToStartContainers', o.sandboxReady, prevConds),
      condition('Initialized', initialized, prevConds, 'ContainersNotInitialized', initialized ? undefined : `containers with incomplete status: [${(o.initContainers ?? []).filter((c) => !(c.final && 'terminated' in c.state && c.state.terminated.exitCode === 0)).map((c) => c.name).join(' ')}]`),
      condition('ContainersReady', ready, prevConds, reasonNR, msgNR),
      condition('Ready', ready, prevConds, reasonNR, msgNR),
      condition('PodScheduled', true, prevConds),
    ],
    hostIP: o.hostIP,
    ...(o.podIP ? { podIP: o.podIP, podIPs: [{ ip: o.podIP }] } : {}),
    startTime: o.startTime,
    containerStatuses,
    ...(o.initContainers?.length ? { initContainerStatuses: o.initContainers.map(toStatus) } : {}),
    qosClass: pod.status?.qosClass ?? 'BestEffort',
    reason: o.reason ?? null,
    message: o.message ?? null,
  };
}

/** A comparable form (without transition times) to decide whether a patch is needed. */
export function statusKey(s: PostedPodStatus): string {
  return JSON.stringify({ ...s, conditions: s.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) });
}
