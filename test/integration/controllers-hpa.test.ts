// HorizontalPodAutoscaler through the real API server with the controller
// manager and a fake metrics source: scale up on CPU utilization, the 10%
// tolerance, scale down only after the stabilization window, min/max
// limits, status and conditions, events, v1 objects and kubectl get hpa.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Pod } from '../../src/api/core.js';
import type { Deployment } from '../../src/api/apps.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import type { HorizontalPodAutoscaler } from '../../src/controllers/hpa.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { fakeMetrics, type FakeMetrics } from '../helpers/fake-metrics.js';
import { startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let kubelet: SimKubelet;
let cm: ControllerManagerHandle;
let metrics: FakeMetrics;
const NS = 'default';
const WINDOW_MS = 3000;
/** Total CPU (millicores) each app's pods share evenly; absent: no samples. */
const load: Record<string, number> = {};

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['n1'] });
  metrics = fakeMetrics(client);
  metrics.usage = (p, running) => (load[p.metadata.labels!.app!] === undefined ? undefined : Math.round(load[p.metadata.labels!.app!]! / running));
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false, settings: { hpaMetrics: metrics, hpaSyncPeriodMs: 250, hpaDownscaleStabilizationMs: WINDOW_MS } });
}, 60_000);
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

async function deployment(name: string, replicas: number, cpu?: string): Promise<void> {
  const container = { name: 'c', image: 'nginx', ...(cpu ? { resources: { requests: { cpu } } } : {}) };
  await client.create<Deployment>(resources.deployments, NS, { metadata: { name, namespace: NS }, spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [container] } } } } as Deployment);
  await runningPods(name, replicas);
}
const runningPods = (app: string, n: number) =>
  waitFor(`${n} running ${app} pods`, async () => (await client.list<Pod>(resources.pods, NS, { labelSelector: `app=${app}` })).items.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).length === n);
const replicasOf = async (name: string) => (await client.get<Deployment>(resources.deployments, NS, name)).spec.replicas;
const hpaOf = (name: string) => client.get<HorizontalPodAutoscaler>(resources.horizontalpodautoscalers, NS, name);
const cond = (h: HorizontalPodAutoscaler, type: string) => h.status?.conditions?.find((c) => c.type === type);
const events = async (name: string) => (await client.list<Event>(resources.events, NS)).items.filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'HorizontalPodAutoscaler');

function hpa(name: string, min: number, max: number, target = 50, behavior?: HorizontalPodAutoscaler['spec']['behavior']): HorizontalPodAutoscaler {
  return { metadata: { name, namespace: NS }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: min, maxReplicas: max, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: target } } }], ...(behavior ? { behavior } : {}) } };
}

describe('horizontal pod autoscaler', () => {
  it('scales up on CPU utilization above target, reports status, conditions and an event', async () => {
    await deployment('web', 2, '100m');
    load.web = 150; // 75m of 100m per pod: 75% against 50% -> ceil(2 * 1.5) = 3
    await client.create(resources.horizontalpodautoscalers, NS, hpa('web', 2, 5));
    await waitFor('web scaled to 3', async () => (await replicasOf('web')) === 3);
    await runningPods('web', 3);
    // 150m over 3 pods is 50%: settles at 3.
    const h = await waitFor('status at 50%', async () => {
      const x = await hpaOf('web');
      return x.status?.currentMetrics?.[0]?.resource.current.averageUtilization === 50 && x.status.desiredReplicas === 3 && x;
    });
    expect(h.status).toMatchObject({ currentReplicas: 3, desiredReplicas: 3, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 50, averageValue: '50m' } } }] });
    expect(h.status?.lastScaleTime).toBeTruthy();
    expect(cond(h, 'AbleToScale')).toMatchObject({ status: 'True' });
    expect(cond(h, 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound', message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)' });
    expect(cond(h, 'ScalingLimited')).toMatchObject({ status: 'False', reason: 'DesiredWithinRange' });
    const ev = await waitFor('rescale event', async () => (await events('web')).find((e) => e.reason === 'SuccessfulRescale'));
    expect(ev).toMatchObject({ type: 'Normal', message: 'New size: 3; reason: cpu resource utilization (percentage of request) above target' });
  });

  it('keeps the count within the 10% tolerance', async () => {
    load.web = 160; // 53% against 50%: ratio 1.07
    await waitFor('53% observed', async () => (await hpaOf('web')).status?.currentMetrics?.[0]?.resource.current.averageUtilization === 53);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await replicasOf('web')).toBe(3);
  });

  it('scales down only after the stabilization window, and not below minReplicas', async () => {
    load.web = 30; // 10%: wants 1, min is 2
    const t0 = Date.now();
    const stabilized = await waitFor('ScaleDownStabilized', async () => {
      const x = await hpaOf('web');
      return cond(x, 'AbleToScale')?.reason === 'ScaleDownStabilized' && x;
    });
    expect(stabilized.status?.desiredReplicas).toBe(3);
    expect(await replicasOf('web')).toBe(3);
    await waitFor('web scaled to 2', async () => (await replicasOf('web')) === 2, 20_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(WINDOW_MS - 500);
    const h = await waitFor('TooFewReplicas', async () => {
      const x = await hpaOf('web');
      return cond(x, 'ScalingLimited')?.reason === 'TooFewReplicas' && x;
    });
    expect(cond(h, 'ScalingLimited')).toMatchObject({ status: 'True', message: 'the desired replica count is less than the minimum replica count' });
    expect((await events('web')).map((e) => e.message)).toContain('New size: 2; reason: All metrics below target');
  });

  it('never exceeds maxReplicas', async () => {
    load.web = 5000;
    await waitFor('web at 5', async () => (await replicasOf('web')) === 5);
    const h = await waitFor('TooManyReplicas', async () => {
      const x = await hpaOf('web');
      return cond(x, 'ScalingLimited')?.reason === 'TooManyReplicas' && x;
    });
    expect(cond(h, 'ScalingLimited')).toMatchObject({ status: 'True', message: 'the desired replica count is more than the maximum replica count' });
    await new Promise((r) => setTimeout(r, 800));
    expect(await replicasOf('web')).toBe(5);
  });

  it('honours behavior: no downscale window, one pod per minute', async () => {
    await deployment('api', 4, '200m');
    load.api = 4 * 200; // 100%
    await client.create(resources.horizontalpodautoscalers, NS, hpa('api', 1, 6, 100, { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } }));
    await waitFor('ScalingActive', async () => cond(await hpaOf('api'), 'ScalingActive')?.status === 'True');
    load.api = 40; // 5%: wants 1, the policy allows 3
    await waitFor('api at 3', async () => (await replicasOf('api')) === 3);
    const h = await waitFor('ScaleDownLimit', async () => {
      const x = await hpaOf('api');
      return cond(x, 'ScalingLimited')?.reason === 'ScaleDownLimit' && x;
    });
    expect(h.status?.desiredReplicas).toBe(3);
    await new Promise((r) => setTimeout(r, 800));
    expect(await replicasOf('api')).toBe(3);
  });

  it('scales autoscaling/v1 objects made by kubectl autoscale; kubectl get hpa shows them', async () => {
    await deployment('v1app', 1, '100m');
    load.v1app = 90; // 90% against 30% -> 3
    const r = await s.kubectl(['autoscale', 'deployment', 'v1app', '--min=1', '--max=4', '--cpu-percent=30']);
    expect(r.stderr).toBe('');
    await waitFor('v1app scaled to 3', async () => (await replicasOf('v1app')) === 3);
    const v1 = await waitFor('v1 status', async () => {
      const x = (await s.request('GET', `/apis/autoscaling/v1/namespaces/${NS}/horizontalpodautoscalers/v1app`)).json();
      return x.status?.desiredReplicas === 3 && x.status.currentCPUUtilizationPercentage !== undefined && x;
    });
    expect(v1.status).toMatchObject({ currentReplicas: expect.any(Number), desiredReplicas: 3 });
    const out = await waitFor('kubectl get hpa', async () => {
      const g = await s.kubectl(['get', 'hpa', 'v1app']);
      return /\s3\s+\S+$/m.test(g.stdout.trim()) && g.stdout;
    });
    const [header, row] = out.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE']);
    expect(row).toMatch(/^v1app\s+Deployment\/v1app\s+cpu: \d+%\/30%\s+1\s+4\s+3\s+\S+$/);
  });

  it('reports a target whose pods have no CPU request as unable to scale', async () => {
    await deployment('noreq', 1);
    load.noreq = 500;
    await client.create(resources.horizontalpodautoscalers, NS, hpa('noreq', 1, 3));
    const h = await waitFor('ScalingActive False', async () => {
      const x = await hpaOf('noreq');
      return cond(x, 'ScalingActive')?.status === 'False' && x;
    });
    expect(cond(h, 'ScalingActive')).toMatchObject({ reason: 'FailedGetResourceMetric', message: 'the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in all pods of the target' });
    expect((await events('noreq')).find((e) => e.reason === 'FailedGetResourceMetric')).toMatchObject({ type: 'Warning' });
    expect(await replicasOf('noreq')).toBe(1);
  });
});
