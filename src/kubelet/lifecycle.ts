// Container lifecycle hooks: postStart right after StartContainer (a
// failure kills the container, FailedPostStartHook), preStop before every
// stop the kubelet makes (deletion, liveness/startup failure, failed
// postStart), bounded by the termination grace period; the stop itself then
// gets what is left of it. Messages follow the upstream kubelet's.
import type { Container, Pod } from '../api/core.js';
import type { Handler, HandlerRunner } from './handlers.js';

export interface Lifecycle {
  postStart?: Handler;
  preStop?: Handler;
}

/** The container's lifecycle (src/api's Container type does not declare it; the API schema keeps it). */
export function lifecycleOf(c: Container): Lifecycle | undefined {
  return (c as Container & { lifecycle?: Lifecycle }).lifecycle;
}

/** The kubelet never stops a container with less than this once a grace period was given (upstream minimumGracePeriodInSeconds). */
export const MIN_GRACE_SECONDS = 2;

/** Seconds left for StopContainer after a preStop hook that took elapsedMs out of graceSeconds (upstream arithmetic). */
export function remainingGrace(graceSeconds: number, elapsedMs: number): number {
  const left = graceSeconds - Math.floor(elapsedMs / 1000);
  return Math.max(Math.min(MIN_GRACE_SECONDS, graceSeconds), left);
}

/** The grace period for a kill the kubelet decides on (probe failure): the probe's own, else the pod's. */
export function killGrace(pod: Pod, probeGrace?: number): number {
  return probeGrace ?? pod.spec.terminationGracePeriodSeconds ?? 30;
}

function describe(h: Handler): string {
  if (h.exec?.command) return `Exec lifecycle hook ([${h.exec.command.join(' ')}])`;
  if (h.httpGet) return `HTTP lifecycle hook (${h.httpGet.path ?? '/'})`;
  if (h.sleep) return `Sleep lifecycle hook (${h.sleep.seconds})`;
  return 'lifecycle hook';
}

/** The event message for a failed hook, as the upstream kubelet words it. */
export function hookFailureMessage(h: Handler, pod: Pod, c: Container, message: string): string {
  return `${describe(h)} for Container "${c.name}" in Pod "${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid})" failed - error: ${message}`;
}

/** Runs one hook; undefined on success, else the failure message for the event. */
export async function runHook(runner: HandlerRunner, h: Handler, pod: Pod, c: Container, containerId: string, podIP: string | undefined, timeoutMs: number): Promise<string | undefined> {
  if (!h.exec && !h.httpGet && !h.sleep && !h.tcpSocket) return undefined;
  const r = await runner.run(h, c, containerId, podIP, timeoutMs, 'hook');
  return r.ok ? undefined : hookFailureMessage(h, pod, c, r.message);
}
