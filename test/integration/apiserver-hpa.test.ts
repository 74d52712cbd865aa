// autoscaling/v1 HorizontalPodAutoscalers served by conversion over stored autoscaling/v2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;
const v1 = '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers';
const v2 = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers';

beforeAll(async () => {
  s = await startTestServer();
  await s.kubectl(['create', 'deployment', 'web', '--image=nginx']);
});
afterAll(async () => {
  await s?.close();
});

describe('autoscaling/v1 over v2', () => {
  it('kubectl autoscale creates an HPA visible in both versions', async () => {
    const r = await s.kubectl(['autoscale', 'deployment', 'web', '--min=1', '--max=3', '--cpu-percent=50']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('horizontalpodautoscaler.autoscaling/web autoscaled');
    const a = (await s.request('GET', `${v1}/web`)).json();
    expect(a).toMatchObject({ apiVersion: 'autoscaling/v1', spec: { minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50, scaleTargetRef: { kind: 'Deployment', name: 'web' } } });
    const b = (await s.request('GET', `${v2}/web`)).json();
    expect(b.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
    expect((await s.kubectl(['get', 'hpa', 'web', '-o', 'jsonpath={.apiVersion}'])).stdout).toBe('autoscaling/v2');
  });

  it('patches through v1 keep the v2-only metrics', async () => {
    const mem = { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } };
    await s.request('PATCH', `${v2}/web`, { spec: { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }, mem] } }, { 'Content-Type': 'application/merge-patch+json' });
    const p = await s.request('PATCH', `${v1}/web`, { spec: { maxReplicas: 7, targetCPUUtilizationPercentage: 60 } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(p.status).toBe(200);
    expect(p.json().spec).toMatchObject({ maxReplicas: 7, targetCPUUtilizationPercentage: 60 });
    const b = (await s.request('GET', `${v2}/web`)).json();
    expect(b.spec.maxReplicas).toBe(7);
    expect(b.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }, mem]);
    const list = (await s.request('GET', v1)).json();
    expect(list).toMatchObject({ apiVersion: 'autoscaling/v1', items: [{ apiVersion: 'autoscaling/v1', spec: { targetCPUUtilizationPercentage: 60 } }] });
    expect((await s.request('DELETE', `${v1}/web`)).status).toBe(200);
    expect((await s.request('GET', `${v2}/web`)).status).toBe(404);
  });
});
