// DaemonSets through the API server with the controller manager, the
// scheduler and a simulated kubelet: one pod per eligible node, taints
// respected, a rolling update that never has more than maxUnavailable
// nodes without an available pod, and kubectl rollout status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonSet } from '../../src/api/apps.js';
import type { Pod } from '../../src/api/core.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let kubelet: SimKubelet;
let cm: ControllerManagerHandle;
const NS = 'kube-system';

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['d1', 'd2', 'd3'] });
  await client.patch(resources.nodes, undefined, 'd3', { spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false });
});
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

const live = () => kubelet.pods.store.byNamespace(NS).filter((p) => p.metadata.labels?.app === 'agent' && !p.metadata.deletionTimestamp);
const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

describe('daemonset controller', () => {
  it('runs one pod per untainted node, rolls updates one node at a time, follows tolerations', async () => {
    await client.create<DaemonSet>(resources.daemonsets, NS, { metadata: { name: 'agent', namespace: NS }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'agent:1' }] } } } });
    await waitFor('two daemon pods', () => { const l = live(); return l.length === 2 && l.every(ready); });
    expect(live().map((p) => p.spec.nodeName).sort()).toEqual(['d1', 'd2']);
    const r = await s.kubectl(['rollout', 'status', 'daemonset/agent', '-n', NS, '--timeout=20s']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('successfully rolled out');
    const st = (await client.get<DaemonSet>(resources.daemonsets, NS, 'agent')).status;
    expect(st).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, numberAvailable: 2, updatedNumberScheduled: 2, numberMisscheduled: 0 });

    const violations: string[] = [];
    const check = () => {
      const covered = new Set(live().filter(ready).map((p) => p.spec.nodeName));
      const missing = ['d1', 'd2'].filter((n) => !covered.has(n));
      if (missing.length > 1) violations.push(missing.join(','));
    };
    const off = kubelet.pods.on({ add: check, update: check, delete: check });
    try {
      await client.patch(resources.daemonsets, NS, 'agent', { spec: { template: { spec: { containers: [{ name: 'a', image: 'agent:2' }] } } } }, 'strategic');
      await waitFor('updated', () => { const l = live(); return l.length === 2 && l.every((p) => ready(p) && p.spec.containers[0].image === 'agent:2'); });
    } finally {
      off();
    }
    expect(violations).toEqual([]);
    expect((await s.kubectl(['rollout', 'status', 'daemonset/agent', '-n', NS, '--timeout=20s'])).code).toBe(0);

    await client.patch(resources.daemonsets, NS, 'agent', { spec: { template: { spec: { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] } } } }, 'strategic');
    await waitFor('three daemon pods', () => { const l = live(); return l.length === 3 && l.every(ready) && l.some((p) => p.spec.nodeName === 'd3'); });
  });

  it('removes a pod from a node that stops matching', async () => {
    await client.patch(resources.nodes, undefined, 'd1', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
    await waitFor('d1 pod gone', () => live().every((p) => p.spec.nodeName !== 'd1') && live().length === 2);
    await waitFor('status', async () => (await client.get<DaemonSet>(resources.daemonsets, NS, 'agent')).status?.desiredNumberScheduled === 2);
  });
});
