// Node lifecycle through the API server: a node whose kubelet goes silent
// becomes Ready=Unknown with the unreachable taints, its pods turn not
// ready and those tolerating the taint for a limited time are evicted;
// taints go when the kubelet is back; pods of a deleted node are removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod } from '../../src/api/core.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let steady: SimKubelet;
let lonely: SimKubelet | undefined;
let cm: ControllerManagerHandle;
const NS = 'default';

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  steady = await startSimKubelet({ client, nodes: ['steady'], heartbeatMs: 200 });
  lonely = await startSimKubelet({ client, nodes: ['lonely'], heartbeatMs: 200 });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false, settings: { nodeMonitorGracePeriodMs: 3000, nodeMonitorPeriodMs: 200 } });
});
afterAll(async () => {
  await cm?.stop();
  await lonely?.stop();
  await steady?.stop();
  client?.close();
  await s?.close();
});

const pod = (name: string, tolerationSeconds?: number): Pod => ({
  metadata: { name, namespace: NS, labels: { app: 'n' } },
  spec: { nodeName: 'lonely', containers: [{ name: 'c', image: 'i' }], tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', ...(tolerationSeconds !== undefined ? { tolerationSeconds } : {}) }] },
});
const readyOf = (p: Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;

describe('node lifecycle', () => {
  it('marks a silent node Unknown, taints it, evicts pods past their toleration, untaints on return', async () => {
    await client.create(resources.pods, NS, pod('brief', 1));
    await client.create(resources.pods, NS, pod('forever'));
    await waitFor('pods ready', async () => (await client.list<Pod>(resources.pods, NS)).items.filter((p) => readyOf(p) === 'True').length === 2);
    // Healthy nodes stay untainted through several grace periods' worth of checks.
    const healthy = await client.get<Node>(resources.nodes, undefined, 'steady');
    expect(healthy.spec?.taints ?? []).toEqual([]);

    await lonely!.stop();
    lonely = undefined;
    const node = await waitFor('node unknown + tainted', async () => {
      const n = await client.get<Node>(resources.nodes, undefined, 'lonely');
      const unknown = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown';
      return unknown && n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
    }, 10_000);
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('NodeStatusUnknown');
    expect(node.spec?.taints?.map((t) => `${t.key}:${t.effect}`).sort()).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    await waitFor('pods not ready', async () => (await client.list<Pod>(resources.pods, NS)).items.every((p) => readyOf(p) === 'False'));
    await waitFor('brief evicted', async () => !!(await client.get<Pod>(resources.pods, NS, 'brief')).metadata.deletionTimestamp, 10_000);
    expect((await client.get<Pod>(resources.pods, NS, 'forever')).metadata.deletionTimestamp).toBeUndefined();
    expect((await client.get<Node>(resources.nodes, undefined, 'steady')).spec?.taints ?? []).toEqual([]);

    lonely = await startSimKubelet({ client, nodes: ['lonely'], heartbeatMs: 200 });
    await waitFor('untainted', async () => {
      const n = await client.get<Node>(resources.nodes, undefined, 'lonely');
      return !(n.spec?.taints ?? []).length && n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    }, 10_000);
    // The returning kubelet finishes the eviction.
    await waitFor('brief gone', async () => !(await client.get(resources.pods, NS, 'brief').catch(() => undefined)));
  });

  it('removes pods bound to a deleted node', async () => {
    await lonely!.stop();
    lonely = undefined;
    await client.delete(resources.nodes, undefined, 'lonely');
    await waitFor('orphaned pod removed', async () => !(await client.get(resources.pods, NS, 'forever').catch(() => undefined)), 10_000);
  });
});
