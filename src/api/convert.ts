// Conversion between served versions and the stored version of a resource
// (autoscaling/v1 HorizontalPodAutoscaler is stored as autoscaling/v2).
import type { KubeObject } from './meta.js';

export interface Converter {
  /** Served version -> stored version; `stored` is the current object, if any, for fields the served version cannot express. */
  toStorage(o: KubeObject, stored?: KubeObject): KubeObject;
  /** Stored version -> served version. */
  fromStorage(o: KubeObject): KubeObject;
}

type Metric = { type?: string; resource?: { name?: string; target?: { type?: string; averageUtilization?: number } } };
type CurrentMetric = { type?: string; resource?: { name?: string; current?: { averageUtilization?: number } } };

const isCpuUtilization = (m: Metric) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target?.type === 'Utilization';

const hpa: Converter = {
  toStorage(o, stored) {
    const spec = (o.spec ?? {}) as { scaleTargetRef?: unknown; minReplicas?: number; maxReplicas?: number; targetCPUUtilizationPercentage?: number };
    const status = (o.status ?? undefined) as { observedGeneration?: number; lastScaleTime?: string; currentReplicas?: number; desiredReplicas?: number; currentCPUUtilizationPercentage?: number } | undefined;
    const prior = (((stored?.spec as { metrics?: Metric[] } | undefined)?.metrics ?? []) as Metric[]).filter((m) => !isCpuUtilization(m));
    const metrics: Metric[] = [...(spec.targetCPUUtilizationPercentage !== undefined ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }] : []), ...prior];
    const out: KubeObject = { ...o, apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', spec: { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas, ...(metrics.length ? { metrics } : {}), ...((stored?.spec as { behavior?: unknown } | undefined)?.behavior ? { behavior: (stored!.spec as { behavior?: unknown }).behavior } : {}) } };
    if (status) {
      const cur = status.currentCPUUtilizationPercentage;
      out.status = { observedGeneration: status.observedGeneration, lastScaleTime: status.lastScaleTime, currentReplicas: status.currentReplicas, desiredReplicas: status.desiredReplicas ?? 0, ...(cur !== undefined ? { currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cur } } }] } : {}) };
    }
    return out;
  },
  fromStorage(o) {
    const spec = (o.spec ?? {}) as { scaleTargetRef?: unknown; minReplicas?: number; maxReplicas?: number; metrics?: Metric[] };
    const status = o.status as { observedGeneration?: number; lastScaleTime?: string; currentReplicas?: number; desiredReplicas?: number; currentMetrics?: CurrentMetric[] } | undefined;
    const cpu = spec.metrics?.find(isCpuUtilization)?.resource?.target?.averageUtilization;
    const curCpu = status?.currentMetrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource?.current?.averageUtilization;
    const out: KubeObject = { ...o, apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', spec: { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas, ...(cpu !== undefined ? { targetCPUUtilizationPercentage: cpu } : {}) } };
    if (status) out.status = { observedGeneration: status.observedGeneration, lastScaleTime: status.lastScaleTime, currentReplicas: status.currentReplicas ?? 0, desiredReplicas: status.desiredReplicas ?? 0, ...(curCpu !== undefined ? { currentCPUUtilizationPercentage: curCpu } : {}) };
    return JSON.parse(JSON.stringify(out)) as KubeObject;
  },
};

/** Converters by "group/version/plural" of the served (non-storage) version. */
export const CONVERTERS: Record<string, Converter> = {
  'autoscaling/v1/horizontalpodautoscalers': hpa,
};
