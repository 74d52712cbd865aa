// Pod facts controllers agree on: active, ready, available, and the
// ranking that picks which pods to delete first when scaling down.
import type { Pod } from '../api/core.js';

/** Not terminal and not being deleted (counts towards replicas). */
export function isPodActive(p: Pod): boolean {
  return !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

export function readyCondition(p: Pod): { status: string; lastTransitionTime?: string } | undefined {
  return p.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(p: Pod): boolean {
  return readyCondition(p)?.status === 'True';
}

/** Ready for at least minReadySeconds at time now (ms). */
export function isPodAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  const c = readyCondition(p);
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : 0;
  return t + minReadySeconds * 1000 <= now;
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** Sorts pods so the ones to delete first come first (unassigned, pending, not ready, newest). */
export function rankForDeletion(pods: Pod[]): Pod[] {
  const restarts = (p: Pod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  return [...pods].sort((a, b) => {
    if (!!a.spec.nodeName !== !!b.spec.nodeName) return a.spec.nodeName ? 1 : -1;
    const pa = phaseRank[a.status?.phase ?? 'Pending'] ?? 0;
    const pb = phaseRank[b.status?.phase ?? 'Pending'] ?? 0;
    if (pa !== pb) return pa - pb;
    if (isPodReady(a) !== isPodReady(b)) return isPodReady(a) ? 1 : -1;
    if (isPodReady(a) && isPodReady(b)) {
      const ta = Date.parse(readyCondition(a)?.lastTransitionTime ?? '') || 0;
      const tb = Date.parse(readyCondition(b)?.lastTransitionTime ?? '') || 0;
      if (ta !== tb) return tb - ta; // ready more recently goes first
    }
    if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
    const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    return cb - ca;
  });
}
