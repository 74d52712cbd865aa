// Pure: the HorizontalPodAutoscaler's arithmetic, after upstream's
// replica_calculator.go and horizontal.go: grouping pods into ready /
// unready / missing / ignored, the utilization ratio with its tolerance and
// rebalancing, and normalization of a recommendation through stabilization
// windows, scaling policies and min/max.
import type { Pod } from '../api/core.js';
import { milliValue } from './quantity.js';

/** One pod's usage of a resource in milli-units, sampled at timestamp (ms) over windowMs. */
export interface PodMetric {
  timestamp: number;
  windowMs: number;
  value: number;
}

export interface CalcOptions {
  /** Relative distance from 1.0 within which no scaling happens (default 0.1). */
  tolerance: number;
  /** A pod younger than this is unready for CPU until its readiness settles (default 5 min). */
  cpuInitializationPeriodMs: number;
  /** A pod that turned unready within this of its start is still starting (default 30 s). */
  initialReadinessDelayMs: number;
  now: number;
}

export interface Recommendation {
  replicas: number;
  /** Average utilization in percent of request, as status and kubectl show it. */
  utilization: number;
  /** Average usage per pod in milli-units. */
  rawAverage: number;
}

/** A failure to compute a recommendation, with upstream's message. */
export class MetricsUnavailable extends Error {
  readonly code = 'HPA_ERR_METRICS';
}

/** Pod sum of one resource's requests in milli-units, undefined when any container lacks it. */
export function podRequest(pod: Pod, resource: string): number | undefined {
  let sum = 0;
  for (const c of pod.spec.containers) {
    const v = milliValue(c.resources?.requests?.[resource]);
    if (Number.isNaN(v)) return undefined;
    sum += v;
  }
  return sum;
}

interface Grouped {
  ready: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

function groupPods(pods: Pod[], metrics: Map<string, PodMetric>, resource: string, o: CalcOptions): Grouped {
  const g: Grouped = { ready: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const p of pods) {
    const name = p.metadata.name!;
    if (p.metadata.deletionTimestamp || p.status?.phase === 'Failed') {
      g.ignored.add(name);
      continue;
    }
    if (p.status?.phase === 'Pending') {
      g.unready.add(name);
      continue;
    }
    const m = metrics.get(name);
    if (!m) {
      g.missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = p.status?.conditions?.find((c) => c.type === 'Ready');
      const start = p.status?.startTime ? Date.parse(p.status.startTime) : undefined;
      let unready: boolean;
      if (!cond || start === undefined) unready = true;
      else {
        const transition = cond.lastTransitionTime ? Date.parse(cond.lastTransitionTime) : 0;
        if (start + o.cpuInitializationPeriodMs > o.now) unready = cond.status === 'False' || m.timestamp < transition + m.windowMs;
        else unready = cond.status === 'False' && start + o.initialReadinessDelayMs > transition;
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.ready++;
  }
  return g;
}

function utilizationRatio(metrics: Map<string, number>, requests: Map<string, number>, target: number): { ratio: number; utilization: number; rawAverage: number } {
  let used = 0;
  let requested = 0;
  let n = 0;
  for (const [name, v] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    used += v;
    requested += r;
    n++;
  }
  if (requested === 0) throw new MetricsUnavailable('no metrics returned matched known pods');
  const utilization = Math.trunc((used * 100) / requested);
  return { ratio: utilization / target, utilization, rawAverage: used / n };
}

/**
 * Replicas for a Resource metric with a Utilization target (percent of request).
 * Pods without a request for the resource are left out, as are their metrics.
 */
export function resourceReplicas(currentReplicas: number, targetUtilization: number, resource: string, pods: Pod[], podMetrics: Map<string, PodMetric>, o: CalcOptions): Recommendation {
  const requests = new Map<string, number>();
  for (const p of pods) {
    const r = podRequest(p, resource);
    if (r !== undefined) requests.set(p.metadata.name!, r);
  }
  const counted = pods.filter((p) => requests.has(p.metadata.name!));
  if (pods.length === 0) throw new MetricsUnavailable('no pods returned by selector while calculating replica count');
  if (counted.length === 0) throw new MetricsUnavailable(`missing request for ${resource} in all pods of the target`);
  const g = groupPods(counted, podMetrics, resource, o);
  const metrics = new Map<string, number>();
  for (const [name, m] of podMetrics) if (requests.has(name) && !g.ignored.has(name) && !g.unready.has(name)) metrics.set(name, m.value);
  if (metrics.size === 0) throw new MetricsUnavailable('did not receive metrics for targeted pods (pods might be unready)');

  const first = utilizationRatio(metrics, requests, targetUtilization);
  const { ratio, utilization, rawAverage } = first;
  const rebalanceIgnored = g.unready.size > 0 && ratio > 1;
  if (!rebalanceIgnored && g.missing.size === 0) {
    if (Math.abs(1 - ratio) <= o.tolerance) return { replicas: currentReplicas, utilization, rawAverage };
    return { replicas: Math.ceil(ratio * g.ready), utilization, rawAverage };
  }
  // Assume the worst for the direction of change: missing pods use 100% when
  // scaling down and nothing when scaling up; unready pods nothing.
  if (g.missing.size > 0) {
    const fallback = Math.max(100, targetUtilization);
    for (const name of g.missing) metrics.set(name, ratio < 1 ? (requests.get(name)! * fallback) / 100 : 0);
  }
  if (rebalanceIgnored) for (const name of g.unready) metrics.set(name, 0);
  const next = utilizationRatio(metrics, requests, targetUtilization).ratio;
  if (Math.abs(1 - next) <= o.tolerance || (ratio < 1 && next > 1) || (ratio > 1 && next < 1)) return { replicas: currentReplicas, utilization, rawAverage };
  const replicas = Math.ceil(next * metrics.size);
  if ((next < 1 && replicas > currentReplicas) || (next > 1 && replicas < currentReplicas)) return { replicas: currentReplicas, utilization, rawAverage };
  return { replicas, utilization, rawAverage };
}

// --- normalization -------------------------------------------------------

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}
export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: ScalingPolicy[];
}
export interface Behavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

/** A past recommendation or scale change, timestamped in ms. */
export interface Sample {
  at: number;
  replicas: number;
}

export interface Condition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface NormalizeInput {
  current: number;
  desired: number;
  min: number;
  max: number;
  now: number;
  /** Recommendations of earlier syncs (this one is appended by the caller). */
  recommendations: Sample[];
  /** Replica changes made by this controller: positive up, negative down. */
  scaleEvents: Sample[];
  behavior?: Behavior;
  defaultDownscaleWindowMs: number;
}

export interface Normalized {
  replicas: number;
  ableToScale: Condition;
  scalingLimited: Condition;
}

const DEFAULT_SCALE_UP: Required<ScalingRules> = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
const DEFAULT_SCALE_DOWN: Omit<Required<ScalingRules>, 'stabilizationWindowSeconds'> = { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

const READY: Condition = { status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
const DOWN_STABILIZED: Condition = { status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' };
const UP_STABILIZED: Condition = { status: 'True', reason: 'ScaleUpStabilized', message: 'recent recommendations were lower than current one, applying the lowest recent recommendation' };
const WITHIN: Condition = { status: 'False', reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
const limited = (reason: string, message: string): Condition => ({ status: 'True', reason, message });
const TOO_FEW = limited('TooFewReplicas', 'the desired replica count is less than the minimum replica count');
const TOO_MANY = limited('TooManyReplicas', 'the desired replica count is more than the maximum replica count');
const UP_LIMIT = limited('ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate');
const DOWN_LIMIT = limited('ScaleDownLimit', 'the desired replica count is decreasing faster than the maximum scale rate');

/** Applies stabilization and limits to a raw recommendation, as upstream's normalizeDesiredReplicas[WithBehaviors]. */
export function normalize(i: NormalizeInput): Normalized {
  return i.behavior ? withBehavior(i, i.behavior) : legacy(i);
}

function legacy(i: NormalizeInput): Normalized {
  const cutoff = i.now - i.defaultDownscaleWindowMs;
  let stabilized = i.desired;
  for (const r of i.recommendations) if (r.at >= cutoff && r.replicas > stabilized) stabilized = r.replicas;
  const ableToScale = stabilized === i.desired ? READY : DOWN_STABILIZED;
  const upLimit = Math.max(2 * i.current, 4);
  if (stabilized < i.min) return { replicas: i.min, ableToScale, scalingLimited: TOO_FEW };
  if (stabilized > i.max) return { replicas: i.max, ableToScale, scalingLimited: TOO_MANY };
  if (stabilized > upLimit) return { replicas: upLimit, ableToScale, scalingLimited: UP_LIMIT };
  return { replicas: stabilized, ableToScale, scalingLimited: WITHIN };
}

function changedWithin(events: Sample[], periodSeconds: number, now: number, up: boolean): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.at > cutoff && (up ? e.replicas > 0 : e.replicas < 0)).reduce((s, e) => s + Math.abs(e.replicas), 0);
}

function withBehavior(i: NormalizeInput, b: Behavior): Normalized {
  const up = { ...DEFAULT_SCALE_UP, ...b.scaleUp };
  const down = { ...DEFAULT_SCALE_DOWN, stabilizationWindowSeconds: i.defaultDownscaleWindowMs / 1000, ...b.scaleDown };
  let upRec = i.desired;
  let downRec = i.desired;
  for (const r of i.recommendations) {
    if (r.at > i.now - up.stabilizationWindowSeconds * 1000) upRec = Math.min(upRec, r.replicas);
    if (r.at > i.now - down.stabilizationWindowSeconds * 1000) downRec = Math.max(downRec, r.replicas);
  }
  const stabilized = Math.min(Math.max(i.current, upRec), downRec);
  const ableToScale = stabilized === i.desired ? READY : stabilized < i.desired ? UP_STABILIZED : DOWN_STABILIZED;
  const periodStart = (p: ScalingPolicy) => i.current - changedWithin(i.scaleEvents, p.periodSeconds, i.now, true) + changedWithin(i.scaleEvents, p.periodSeconds, i.now, false);
  if (stabilized > i.current) {
    let limit = i.current;
    if (up.selectPolicy !== 'Disabled') {
      const proposals = up.policies.map((p) => (p.type === 'Pods' ? periodStart(p) + p.value : Math.ceil(periodStart(p) * (1 + p.value / 100))));
      limit = Math.max(i.current, up.selectPolicy === 'Min' ? Math.min(...proposals) : Math.max(...proposals));
    }
    const [bound, why] = i.max > limit ? [limit, UP_LIMIT] : [i.max, TOO_MANY];
    if (stabilized > bound) return { replicas: bound, ableToScale, scalingLimited: why };
  } else if (stabilized < i.current) {
    let limit = i.current;
    if (down.selectPolicy !== 'Disabled') {
      const proposals = down.policies.map((p) => (p.type === 'Pods' ? periodStart(p) - p.value : Math.trunc(periodStart(p) * (1 - p.value / 100))));
      limit = Math.min(i.current, down.selectPolicy === 'Min' ? Math.max(...proposals) : Math.min(...proposals));
    }
    const [bound, why] = i.min < limit ? [limit, DOWN_LIMIT] : [i.min, TOO_FEW];
    if (stabilized < bound) return { replicas: bound, ableToScale, scalingLimited: why };
  }
  // Outside min/max with no change proposed (e.g. spec edited): still clamp.
  if (stabilized > i.max) return { replicas: i.max, ableToScale, scalingLimited: TOO_MANY };
  if (stabilized < i.min) return { replicas: i.min, ableToScale, scalingLimited: TOO_FEW };
  return { replicas: stabilized, ableToScale, scalingLimited: WITHIN };
}
