// The HPA's replica arithmetic and normalization as upstream computes them,
// and quota/quantity helpers, on hand-built pods.
import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/core.js';
import { normalize, resourceReplicas, type PodMetric } from '../../src/controllers/hpa-algorithm.js';
import { formatMilli, milliValue } from '../../src/controllers/quantity.js';

const NOW = Date.parse('2024-01-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const opts = { tolerance: 0.1, cpuInitializationPeriodMs: 300_000, initialReadinessDelayMs: 30_000, now: NOW };

function pod(name: string, o: { request?: string; phase?: Pod['status'] extends infer S ? (S extends { phase?: infer P } ? P : never) : never; ready?: boolean; startedAgoMs?: number; readyAgoMs?: number } = {}): Pod {
  const started = NOW - (o.startedAgoMs ?? 600_000);
  return {
    metadata: { name, namespace: 'ns' },
    spec: { containers: [{ name: 'c', image: 'i', ...(o.request === 'none' ? {} : { resources: { requests: { cpu: o.request ?? '100m' } } }) }] },
    status: { phase: o.phase ?? 'Running', startTime: iso(started), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: iso(NOW - (o.readyAgoMs ?? 590_000)) }] },
  };
}
const usage = (m: Record<string, number>) => new Map<string, PodMetric>(Object.entries(m).map(([k, v]) => [k, { timestamp: NOW - 1000, windowMs: 30_000, value: v }]));

describe('resourceReplicas (upstream replica calculator)', () => {
  const cases: { description: string; current: number; pods: Pod[]; metrics: Record<string, number>; want: number; utilization: number }[] = [
    { description: 'scales up by ceil(ready * ratio)', current: 2, pods: [pod('a'), pod('b')], metrics: { a: 75, b: 75 }, want: 3, utilization: 75 },
    { description: 'within the 10% tolerance keeps the count', current: 3, pods: [pod('a'), pod('b'), pod('c')], metrics: { a: 53, b: 54, c: 53 }, want: 3, utilization: 53 },
    { description: 'scales down', current: 4, pods: [pod('a'), pod('b'), pod('c'), pod('d')], metrics: { a: 10, b: 10, c: 10, d: 10 }, want: 1, utilization: 10 },
    { description: 'missing metrics count as 100% when scaling down', current: 2, pods: [pod('a'), pod('b')], metrics: { a: 10 }, want: 2, utilization: 10 },
    { description: 'missing metrics count as 0 when scaling up', current: 3, pods: [pod('a'), pod('b'), pod('c')], metrics: { a: 150, b: 150 }, want: 6, utilization: 150 },
    { description: 'a not-yet-ready pod counts as 0 on scale up', current: 3, pods: [pod('a'), pod('b'), pod('c', { ready: false, startedAgoMs: 10_000, readyAgoMs: 10_000 })], metrics: { a: 100, b: 100, c: 300 }, want: 4, utilization: 100 },
    { description: 'a pending pod does not hold back a scale down of the rest', current: 3, pods: [pod('a'), pod('b'), pod('c', { phase: 'Pending' })], metrics: { a: 10, b: 10 }, want: 1, utilization: 10 },
    { description: 'a freshly ready pod whose sample predates readiness is unready', current: 2, pods: [pod('a'), pod('b', { startedAgoMs: 20_000, readyAgoMs: 5_000 })], metrics: { a: 150, b: 500 }, want: 3, utilization: 150 },
    { description: 'failed and deleting pods are ignored', current: 3, pods: [pod('a'), pod('b'), pod('c', { phase: 'Failed' })], metrics: { a: 100, b: 100, c: 900 }, want: 4, utilization: 100 },
    { description: 'pods without a cpu request are left out', current: 2, pods: [pod('a'), pod('b', { request: 'none' })], metrics: { a: 100, b: 900 }, want: 2, utilization: 100 },
  ];
  for (const c of cases) {
    it(c.description, () => {
      const r = resourceReplicas(c.current, 50, 'cpu', c.pods, usage(c.metrics), opts);
      expect({ replicas: r.replicas, utilization: r.utilization }).toEqual({ replicas: c.want, utilization: c.utilization });
    });
  }
  it('fails as upstream without pods, requests or metrics', () => {
    expect(() => resourceReplicas(1, 50, 'cpu', [], usage({}), opts)).toThrow('no pods returned by selector');
    expect(() => resourceReplicas(1, 50, 'cpu', [pod('a', { request: 'none' })], usage({ a: 1 }), opts)).toThrow('missing request for cpu');
    expect(() => resourceReplicas(1, 50, 'cpu', [pod('a', { phase: 'Pending' })], usage({}), opts)).toThrow('did not receive metrics for targeted pods');
  });
});

describe('normalize', () => {
  const base = { min: 1, max: 10, now: NOW, recommendations: [], scaleEvents: [], defaultDownscaleWindowMs: 300_000 };
  it('holds the highest recommendation of the downscale window', () => {
    const n = normalize({ ...base, current: 5, desired: 2, recommendations: [{ at: NOW - 100_000, replicas: 5 }, { at: NOW - 400_000, replicas: 9 }] });
    expect(n.replicas).toBe(5);
    expect(n.ableToScale.reason).toBe('ScaleDownStabilized');
    expect(normalize({ ...base, current: 5, desired: 2, recommendations: [{ at: NOW - 400_000, replicas: 5 }] }).replicas).toBe(2);
  });
  it('limits to min, max and the legacy scale-up rate', () => {
    expect(normalize({ ...base, current: 3, desired: 0 })).toMatchObject({ replicas: 1, scalingLimited: { status: 'True', reason: 'TooFewReplicas' } });
    expect(normalize({ ...base, current: 8, desired: 20 })).toMatchObject({ replicas: 10, scalingLimited: { reason: 'TooManyReplicas' } });
    expect(normalize({ ...base, current: 1, desired: 9 })).toMatchObject({ replicas: 4, scalingLimited: { reason: 'ScaleUpLimit' } });
    expect(normalize({ ...base, current: 3, desired: 4 })).toMatchObject({ replicas: 4, ableToScale: { reason: 'ReadyForNewScale' }, scalingLimited: { status: 'False', reason: 'DesiredWithinRange' } });
  });
  it('applies behavior windows and policies', () => {
    const behavior = { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods' as const, value: 1, periodSeconds: 60 }] }, scaleUp: { policies: [{ type: 'Percent' as const, value: 50, periodSeconds: 60 }] } };
    expect(normalize({ ...base, behavior, current: 6, desired: 2, recommendations: [{ at: NOW - 1000, replicas: 6 }] })).toMatchObject({ replicas: 5, scalingLimited: { reason: 'ScaleDownLimit' } });
    // One replica already removed within the period: the next may not go below 6 - 1 = 5 again from the period's start.
    expect(normalize({ ...base, behavior, current: 5, desired: 2, scaleEvents: [{ at: NOW - 10_000, replicas: -1 }] }).replicas).toBe(5);
    expect(normalize({ ...base, behavior, current: 4, desired: 9 })).toMatchObject({ replicas: 6, scalingLimited: { reason: 'ScaleUpLimit' } });
    expect(normalize({ ...base, behavior: { scaleUp: { stabilizationWindowSeconds: 60 } }, current: 2, desired: 6, recommendations: [{ at: NOW - 10_000, replicas: 3 }] })).toMatchObject({ replicas: 3, ableToScale: { reason: 'ScaleUpStabilized' } });
  });
});

describe('quantities', () => {
  it('parse to milli-units and print canonically', () => {
    expect([milliValue('500m'), milliValue('1.5'), milliValue('128Mi'), milliValue(2), milliValue('x')]).toEqual([500, 1500, 128 * 2 ** 20 * 1000, 2000, NaN]);
    expect([formatMilli(1500), formatMilli(2000), formatMilli(256 * 2 ** 20 * 1000, true), formatMilli(1000, true)]).toEqual(['1500m', '2', '256Mi', '1']);
  });
});
