// HorizontalPodAutoscaler controller: every sync period, reads the target's
// scale subresource and its pods' resource usage from a MetricsSource,
// computes a replica count with upstream's algorithm (hpa-algorithm.ts),
// writes it through /scale and reports status, conditions and events.
// autoscaling/v1 objects are the same stored v2 objects, so both are served.
import type { Pod } from '../api/core.js';
import type { KubeObject } from '../api/meta.js';
import { parseLabelSelector } from '../api/selectors.js';
import { objectKey, splitKey } from '../client/cache.js';
import { isNotFound } from '../client/errors.js';
import { resourcePath, resources, type ResourceType } from '../client/resources.js';
import { createLoop, isoNow, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { normalize, resourceReplicas, type Behavior, type Condition, type Sample } from './hpa-algorithm.js';
import { resourceMetricsSource, type MetricsSource } from './metrics.js';
import { formatMilli } from './quantity.js';

interface MetricSpec {
  type: string;
  resource?: { name: string; target: { type: string; averageUtilization?: number; averageValue?: string; value?: string } };
}
interface HpaCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
interface MetricStatus {
  type: 'Resource';
  resource: { name: string; current: { averageUtilization?: number; averageValue?: string } };
}
interface HpaStatus {
  observedGeneration?: number;
  lastScaleTime?: string;
  currentReplicas: number;
  desiredReplicas: number;
  currentMetrics?: MetricStatus[] | null;
  conditions?: HpaCondition[];
}
export interface HorizontalPodAutoscaler extends KubeObject {
  spec: { scaleTargetRef: { apiVersion?: string; kind: string; name: string }; minReplicas?: number; maxReplicas: number; metrics?: MetricSpec[]; behavior?: Behavior };
  status?: HpaStatus;
}
interface Scale extends KubeObject {
  spec: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

const TARGETS: Record<string, ResourceType> = { Deployment: resources.deployments, ReplicaSet: resources.replicasets, StatefulSet: resources.statefulsets };

/** Upstream's horizontal-pod-autoscaler-* flag defaults. */
const DEFAULTS = { syncPeriodMs: 15_000, downscaleWindowMs: 300_000, tolerance: 0.1, cpuInitializationPeriodMs: 300_000, initialReadinessDelayMs: 30_000 };

export async function start(ctx: ControllerContext): Promise<Handle> {
  const s = ctx.settings ?? {};
  const syncPeriodMs = s.hpaSyncPeriodMs ?? DEFAULTS.syncPeriodMs;
  const downscaleWindowMs = s.hpaDownscaleStabilizationMs ?? DEFAULTS.downscaleWindowMs;
  const metrics: MetricsSource = s.hpaMetrics ?? resourceMetricsSource(ctx.client);
  const hpaInf = ctx.informers.get<HorizontalPodAutoscaler>(resources.horizontalpodautoscalers);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  const loop = createLoop(ctx, 'horizontal-pod-autoscaler', reconcile);
  // Per HPA: raw recommendations (stabilization) and our own scale changes (rate policies).
  const history = new Map<string, { recommendations: Sample[]; scaleEvents: Sample[] }>();

  hpaInf.on({
    add: (h) => loop.queue.add(objectKey(h)),
    // Our own status writes and resyncs do not warrant a sync; spec changes do.
    update: (old, h) => old.metadata.generation !== h.metadata.generation && loop.queue.add(objectKey(h)),
    delete: (h) => loop.queue.add(objectKey(h)),
  });

  async function reconcile(key: string): Promise<ReconcileResult> {
    const hpa = hpaInf.store.get(key);
    if (!hpa) {
      history.delete(key);
      return;
    }
    let hist = history.get(key);
    if (!hist) history.set(key, (hist = { recommendations: [], scaleEvents: [] }));
    const now = ctx.clock.now();
    const { namespace } = splitKey(key);
    const ref = hpa.spec.scaleTargetRef;
    const conditions = new Map<string, Condition>((hpa.status?.conditions ?? []).map((c) => [c.type, { status: c.status as Condition['status'], reason: c.reason ?? '', message: c.message ?? '' }]));
    const status: HpaStatus = { ...(hpa.status ?? { currentReplicas: 0, desiredReplicas: 0 }), observedGeneration: hpa.metadata.generation };
    const done = async (): Promise<ReconcileResult> => {
      await writeStatus(hpa, status, conditions);
      return { requeueAfterMs: syncPeriodMs };
    };

    const rt = TARGETS[ref.kind];
    let scale: Scale;
    try {
      if (!rt) throw new Error(`the server could not find the requested resource (${ref.kind} is not a scalable kind)`);
      scale = await ctx.client.transport.request<Scale>('GET', resourcePath(rt, namespace, ref.name, 'scale'));
    } catch (err) {
      const msg = (err as Error).message;
      conditions.set('AbleToScale', { status: 'False', reason: 'FailedGetScale', message: `the HPA controller was unable to get the target's current scale: ${msg}` });
      ctx.recorder.event(hpa, 'Warning', 'FailedGetScale', msg);
      return done();
    }
    conditions.set('AbleToScale', { status: 'True', reason: 'SucceededGetScale', message: "the HPA controller was able to get the target's current scale" });
    const current = scale.spec.replicas ?? 0;
    const min = hpa.spec.minReplicas ?? 1;
    const max = hpa.spec.maxReplicas;
    status.currentReplicas = current;

    let desired = current;
    let reason = '';
    if (current === 0 && min !== 0) {
      desired = 0;
      conditions.set('ScalingActive', { status: 'False', reason: 'ScalingDisabled', message: 'scaling is disabled since the replica count of the target is zero' });
      status.currentMetrics = null;
    } else if (current > max) {
      desired = max;
      reason = 'Current number of replicas above Spec.MaxReplicas';
    } else if (current < min) {
      desired = min;
      reason = 'Current number of replicas below Spec.MinReplicas';
    } else {
      const proposal = await computeReplicas(hpa, scale, current, now);
      if ('error' in proposal) {
        conditions.set('ScalingActive', { status: 'False', reason: proposal.reason, message: proposal.error });
        ctx.recorder.event(hpa, 'Warning', proposal.reason, proposal.event);
        status.currentMetrics = proposal.metrics.length ? proposal.metrics : null;
        status.desiredReplicas = current;
        return done();
      }
      status.currentMetrics = proposal.metrics;
      conditions.set('ScalingActive', { status: 'True', reason: 'ValidMetricFound', message: `the HPA was able to successfully calculate a replica count from ${proposal.name}` });
      reason = proposal.replicas > current ? `${proposal.name} above target` : 'All metrics below target';
      const n = normalize({ current, desired: proposal.replicas, min, max, now, recommendations: hist.recommendations, scaleEvents: hist.scaleEvents, behavior: hpa.spec.behavior, defaultDownscaleWindowMs: downscaleWindowMs });
      hist.recommendations.push({ at: now, replicas: proposal.replicas });
      conditions.set('AbleToScale', n.ableToScale);
      conditions.set('ScalingLimited', n.scalingLimited);
      desired = n.replicas;
    }
    prune(hist, hpa.spec.behavior, now, downscaleWindowMs);

    if (desired !== current) {
      try {
        await ctx.client.put(rt!, namespace, ref.name, 'scale', { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: ref.name, namespace, resourceVersion: scale.metadata.resourceVersion }, spec: { replicas: desired } });
      } catch (err) {
        const msg = (err as Error).message;
        conditions.set('AbleToScale', { status: 'False', reason: 'FailedUpdateScale', message: `the HPA controller was unable to update the target scale: ${msg}` });
        ctx.recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${reason}; error: ${msg}`);
        status.desiredReplicas = current;
        await writeStatus(hpa, status, conditions);
        throw err;
      }
      conditions.set('AbleToScale', { status: 'True', reason: 'SucceededRescale', message: `the HPA controller was able to update the target scale to ${desired}` });
      ctx.recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
      hist.scaleEvents.push({ at: now, replicas: desired - current });
      status.lastScaleTime = isoNow(ctx.clock);
      loop.log?.info({ hpa: key, from: current, to: desired, reason }, 'rescaled');
    }
    status.desiredReplicas = desired;
    return done();
  }

  type Proposal = { replicas: number; name: string; metrics: MetricStatus[] } | { error: string; event: string; reason: string; metrics: MetricStatus[] };

  /** The largest replica count any metric asks for; fails if no metric works, or one fails while the rest ask to shrink (upstream). */
  async function computeReplicas(hpa: HorizontalPodAutoscaler, scale: Scale, current: number, now: number): Promise<Proposal> {
    const ns = hpa.metadata.namespace!;
    const selector = scale.status?.selector ?? '';
    const sel = parseLabelSelector(selector);
    if (!selector || !sel.ok) {
      const message = selector ? `couldn't convert selector into a corresponding internal selector object: ${sel.ok ? '' : sel.error}` : 'selector is required';
      return { error: `the HPA target's scale is missing a selector`, event: message, reason: selector ? 'InvalidSelector' : 'SelectorRequired', metrics: [] };
    }
    const pods = podInf.store.byNamespace(ns).filter((p) => sel.value.matches(p.metadata.labels));
    const specs = hpa.spec.metrics?.length ? hpa.spec.metrics : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
    const out: MetricStatus[] = [];
    let best: { replicas: number; name: string } | undefined;
    let failure: { message: string; reason: string } | undefined;
    for (const m of specs) {
      const r = m.resource;
      const target = r?.target.averageUtilization;
      if (m.type !== 'Resource' || !r || r.target.type !== 'Utilization' || !target) {
        failure = { reason: 'InvalidMetricSourceType', message: `unsupported metric: type ${m.type}${r ? ` target ${r.target.type}` : ''} (only Resource with a Utilization target)` };
        continue;
      }
      try {
        const usage = await metrics.podUsage(ns, selector, r.name);
        const rec = resourceReplicas(current, target, r.name, pods, usage, { tolerance: ctx.settings?.hpaTolerance ?? DEFAULTS.tolerance, cpuInitializationPeriodMs: ctx.settings?.hpaCpuInitializationPeriodMs ?? DEFAULTS.cpuInitializationPeriodMs, initialReadinessDelayMs: ctx.settings?.hpaInitialReadinessDelayMs ?? DEFAULTS.initialReadinessDelayMs, now });
        out.push({ type: 'Resource', resource: { name: r.name, current: { averageUtilization: rec.utilization, averageValue: formatMilli(Math.round(rec.rawAverage), r.name === 'memory') } } });
        if (!best || rec.replicas > best.replicas) best = { replicas: rec.replicas, name: `${r.name} resource utilization (percentage of request)` };
      } catch (err) {
        const msg = (err as Error).message;
        failure = { reason: 'FailedGetResourceMetric', message: `failed to get ${r.name} utilization: ${msg}` };
      }
    }
    if (failure && (!best || best.replicas < current)) return { error: `the HPA was unable to compute the replica count: ${failure.message}`, event: failure.message, reason: failure.reason, metrics: out };
    if (!best) return { error: 'the HPA was unable to compute the replica count: no metrics', event: 'no metrics', reason: 'FailedGetResourceMetric', metrics: out };
    return { ...best, metrics: out };
  }

  async function writeStatus(hpa: HorizontalPodAutoscaler, status: HpaStatus, conditions: Map<string, Condition>): Promise<void> {
    const old = new Map((hpa.status?.conditions ?? []).map((c) => [c.type, c]));
    status.conditions = ['AbleToScale', 'ScalingActive', 'ScalingLimited'].flatMap((type) => {
      const c = conditions.get(type);
      if (!c) return [];
      const prev = old.get(type);
      const lastTransitionTime = prev?.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : isoNow(ctx.clock);
      return [{ type, status: c.status, lastTransitionTime, reason: c.reason, message: c.message }];
    });
    if (JSON.stringify(status) === JSON.stringify({ ...hpa.status, observedGeneration: hpa.metadata.generation })) return;
    try {
      await ctx.client.patch(resources.horizontalpodautoscalers, hpa.metadata.namespace, hpa.metadata.name!, { status }, 'merge', 'status');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  return loop.run([hpaInf, podInf]);
}

/** Drops samples no window or policy period can still see. */
function prune(hist: { recommendations: Sample[]; scaleEvents: Sample[] }, b: Behavior | undefined, now: number, defaultWindowMs: number): void {
  const windowMs = Math.max(defaultWindowMs, (b?.scaleUp?.stabilizationWindowSeconds ?? 0) * 1000, (b?.scaleDown?.stabilizationWindowSeconds ?? 0) * 1000);
  const periodMs = Math.max(15_000, ...[...(b?.scaleUp?.policies ?? []), ...(b?.scaleDown?.policies ?? [])].map((p) => p.periodSeconds * 1000));
  hist.recommendations = hist.recommendations.filter((r) => r.at > now - windowMs);
  hist.scaleEvents = hist.scaleEvents.filter((e) => e.at > now - periodMs);
}
