// kubectl get hpa's TARGETS column, as kubectl prints it.
import { describe, expect, it } from 'vitest';
import { hpaTargets } from '../../src/apiserver/table.js';

describe('HPA TARGETS column', () => {
  it('prints current/target per metric, <unknown> before the first sample, v1 objects too', () => {
    const cpu = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } };
    expect(hpaTargets({ spec: { metrics: [cpu] } })).toBe('cpu: <unknown>/50%');
    expect(hpaTargets({ spec: { metrics: [cpu] }, status: { currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 75 } } }] } })).toBe('cpu: 75%/50%');
    expect(hpaTargets({ spec: { targetCPUUtilizationPercentage: 30 }, status: { currentCPUUtilizationPercentage: 12 } })).toBe('cpu: 12%/30%');
    const mem = { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } };
    const pods = { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } };
    expect(hpaTargets({ spec: { metrics: [cpu, mem, pods] } })).toBe('cpu: <unknown>/50%, memory: <unknown>/100Mi + 1 more...');
    expect(hpaTargets({ spec: {} })).toBe('<none>');
  });
});
