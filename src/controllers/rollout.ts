// Pure rollout arithmetic of the Deployment controller (no I/O), so it can
// be unit-tested: maxSurge/maxUnavailable resolution, how far to scale the
// new ReplicaSet up and the old ones down, proportional scaling, and the
// pod-template hash.
import type { Deployment, ReplicaSet } from '../api/apps.js';

export type IntOrPercent = number | string | undefined;

/** Scales an int-or-percent against total, rounding up or down. */
export function scaledValue(v: IntOrPercent, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid int-or-percent ${JSON.stringify(v)}`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** [maxSurge, maxUnavailable] for a rolling update; both zero becomes unavailable = 1. */
export function resolveFenceposts(maxSurge: IntOrPercent, maxUnavailable: IntOrPercent, replicas: number): [number, number] {
  const surge = scaledValue(maxSurge ?? '25%', replicas, true);
  let unavailable = scaledValue(maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

export interface RSCounts {
  /** spec.replicas */
  replicas: number;
  /** status.availableReplicas */
  available: number;
}

/** spec.replicas of the new ReplicaSet for the next RollingUpdate step. */
export function newReplicasForRollingUpdate(desired: number, maxSurge: number, allReplicas: number, newReplicas: number): number {
  const maxTotal = desired + maxSurge;
  if (allReplicas >= maxTotal) return newReplicas;
  const scaleUp = maxTotal - allReplicas;
  return newReplicas + Math.max(0, Math.min(scaleUp, desired - newReplicas));
}

/**
 * How many old pods may go now without dropping below desired - maxUnavailable:
 * total spec replicas minus the availability floor minus the new RS's not-yet-available pods.
 */
export function maxOldScaleDown(desired: number, maxUnavailable: number, all: RSCounts[], newRS: RSCounts | undefined): number {
  const allPods = all.reduce((n, r) => n + r.replicas, 0);
  const minAvailable = desired - maxUnavailable;
  const newUnavailable = newRS ? Math.max(0, newRS.replicas - newRS.available) : 0;
  return allPods - minAvailable - newUnavailable;
}

/**
 * Plans old ReplicaSet scale-downs for one RollingUpdate step: unhealthy
 * pods first (bounded by maxOldScaleDown), then available ones while total
 * availability stays at or above the floor. Old sets are given oldest first.
 * Returns the new spec.replicas for each old set.
 */
export function planOldScaleDown(desired: number, maxUnavailable: number, old: RSCounts[], newRS: RSCounts | undefined): number[] {
  const next = old.map((r) => r.replicas);
  const all = newRS ? [...old, newRS] : old;
  let budget = maxOldScaleDown(desired, maxUnavailable, all, newRS);
  if (budget <= 0 || old.every((r) => r.replicas === 0)) return next;
  // Unhealthy old pods cost no availability.
  for (let i = 0; i < old.length && budget > 0; i++) {
    const unhealthy = Math.max(0, old[i].replicas - old[i].available);
    const cut = Math.min(unhealthy, budget);
    next[i] -= cut;
    budget -= cut;
  }
  const minAvailable = desired - maxUnavailable;
  const available = all.reduce((n, r) => n + r.available, 0);
  let allowed = available - minAvailable;
  // Also bounded by the spec-based budget, so a stale availableReplicas in an old set's status cannot over-delete.
  for (let i = 0; i < old.length && allowed > 0 && budget > 0; i++) {
    const take = Math.min(next[i], allowed, budget);
    next[i] -= take;
    allowed -= take;
    budget -= take;
  }
  return next;
}

/**
 * Proportional scaling of several active ReplicaSets when the Deployment's
 * replicas change mid-rollout: the difference to the allowed total (desired
 * + surge) is split by current size (rounded), the remainder goes to the largest.
 * Sets are given newest first; returns new sizes in the same order.
 */
export function proportionalScale(desired: number, maxSurge: number, sets: number[]): number[] {
  const total = sets.reduce((a, b) => a + b, 0);
  const allowed = desired + maxSurge;
  const toAdd = allowed - total;
  if (toAdd === 0 || total === 0) return [...sets];
  const out = [...sets];
  let added = 0;
  // Largest first, newest first on ties (the order given).
  const order = sets.map((s, i) => i).sort((a, b) => sets[b] - sets[a] || a - b);
  for (const i of order) {
    // Rounded half away from zero, as upstream's RoundToInt32.
    const exact = (sets[i] * toAdd) / total;
    const share = Math.sign(exact) * Math.round(Math.abs(exact));
    const bounded = toAdd > 0 ? Math.min(share, toAdd - added) : Math.max(share, toAdd - added, -out[i]);
    out[i] += bounded;
    added += bounded;
  }
  const rest = toAdd - added;
  if (rest !== 0) {
    const i = order[0];
    out[i] = Math.max(0, out[i] + rest);
  }
  return out;
}

/** True when the rollout is done: all replicas updated and available, no old ones, current generation observed. */
export function deploymentComplete(d: Deployment, status: NonNullable<Deployment['status']>): boolean {
  const want = d.spec.replicas ?? 1;
  return (status.updatedReplicas ?? 0) === want && (status.replicas ?? 0) === want && (status.availableReplicas ?? 0) === want && (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Canonical JSON: object keys sorted, so equal templates hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** The pod-template-hash of a template (FNV-1a over canonical JSON and the collision count), in kube's consonant alphabet. */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const s = canonicalJson(template) + (collisionCount ? `#${collisionCount}` : '');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = '';
  let x = h;
  for (let i = 0; i < 10; i++) {
    out += SAFE[x % SAFE.length];
    x = Math.floor(x / SAFE.length);
    if (x === 0) break;
  }
  return out;
}

export const REVISION = 'deployment.kubernetes.io/revision';
export const HASH_LABEL = 'pod-template-hash';

export function revisionOf(rs: ReplicaSet): number {
  const n = Number(rs.metadata.annotations?.[REVISION] ?? '0');
  return Number.isFinite(n) ? n : 0;
}

/** The template with the pod-template-hash label removed, for comparing a ReplicaSet's template to a Deployment's. */
export function templateWithoutHash(t: ReplicaSet['spec']['template']): unknown {
  if (!t) return t;
  const c = structuredClone(t);
  if (c.metadata?.labels) {
    delete c.metadata.labels[HASH_LABEL];
    if (!Object.keys(c.metadata.labels).length) delete c.metadata.labels;
  }
  return c;
}
