// ResourceQuota usage through the real API server with the controller
// manager: status.hard mirrors spec.hard, status.used follows object counts,
// NodePorts and pod requests/limits as objects come and go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod, ResourceQuota } from '../../src/api/core.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/wait.js';

let s: TestServer;
let client: Client;
let cm: ControllerManagerHandle;
const NS = 'quota';

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false, scheduler: false, controllers: ['resourcequota', 'service-ip', 'namespace'] });
  await client.create(resources.namespaces, undefined, { metadata: { name: NS } });
}, 60_000);
afterAll(async () => {
  await cm?.stop();
  client?.close();
  await s?.close();
});

const usedOf = async (name: string) => (await client.get<ResourceQuota>(resources.resourcequotas, NS, name)).status?.used;
const pod = (name: string, requests: Record<string, string>, limits: Record<string, string> = {}): Pod => ({ metadata: { name, namespace: NS }, spec: { containers: [{ name: 'c', image: 'i', resources: { requests, limits } }] } });
const hard = { pods: '10', 'count/configmaps': '5', 'count/secrets': '5', services: '4', 'services.nodeports': '3', persistentvolumeclaims: '2', 'count/deployments.apps': '2', 'requests.cpu': '2', 'requests.memory': '1Gi', 'limits.cpu': '4', 'limits.memory': '2Gi' };

describe('resourcequota controller', () => {
  it('mirrors spec.hard and counts what the namespace holds', async () => {
    await client.create(resources.configmaps, NS, { metadata: { name: 'c1', namespace: NS }, data: {} });
    await client.create(resources.resourcequotas, NS, { metadata: { name: 'q', namespace: NS }, spec: { hard } });
    const q = await waitFor('status', async () => (await client.get<ResourceQuota>(resources.resourcequotas, NS, 'q')).status?.used && client.get<ResourceQuota>(resources.resourcequotas, NS, 'q'));
    expect(q.status!.hard).toEqual(hard);
    expect(q.status!.used).toMatchObject({ pods: '0', 'count/configmaps': '1', services: '0', 'services.nodeports': '0', persistentvolumeclaims: '0', 'count/deployments.apps': '0', 'requests.cpu': '0', 'requests.memory': '0' });
  });

  it('recomputes on creates and deletes: pods with requests/limits, NodePort services, secrets, PVCs', async () => {
    await client.create(resources.pods, NS, pod('p1', { cpu: '500m', memory: '128Mi' }, { cpu: '1', memory: '256Mi' }));
    await client.create(resources.pods, NS, pod('p2', { cpu: '250m', memory: '128Mi' }));
    await client.create(resources.services, NS, { metadata: { name: 'np', namespace: NS }, spec: { type: 'NodePort', selector: { a: 'b' }, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } });
    await client.create(resources.secrets, NS, { metadata: { name: 's1', namespace: NS }, type: 'Opaque', data: {} });
    await client.create(resources.persistentvolumeclaims, NS, { metadata: { name: 'd', namespace: NS }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    await waitFor('usage', async () => {
      const u = await usedOf('q');
      return u?.pods === '2' && u['persistentvolumeclaims'] === '1' && u['services.nodeports'] === '2' && u;
    });
    expect(await usedOf('q')).toMatchObject({ pods: '2', services: '1', 'services.nodeports': '2', 'count/secrets': expect.stringMatching(/^[1-9]/), persistentvolumeclaims: '1', 'requests.cpu': '750m', 'requests.memory': '256Mi', 'limits.cpu': '1', 'limits.memory': '256Mi' });
    await client.delete(resources.pods, NS, 'p1', { gracePeriodSeconds: 0 });
    await waitFor('p1 released', async () => (await usedOf('q'))?.pods === '1');
    // p2 sets no limits, so it uses none of the limits quota.
    expect(await usedOf('q')).toMatchObject({ 'requests.cpu': '250m', 'requests.memory': '128Mi', 'limits.cpu': '0', 'limits.memory': '0' });
  });

  it('does not count terminal pods, and follows spec.hard edits', async () => {
    await client.patch(resources.pods, NS, 'p2', { status: { phase: 'Succeeded' } }, 'merge', 'status');
    await waitFor('p2 released', async () => (await usedOf('q'))?.pods === '0');
    await client.patch(resources.resourcequotas, NS, 'q', { spec: { hard: { pods: '3', 'count/configmaps': '9' } } }, 'merge');
    const q = await waitFor('hard updated', async () => {
      const x = await client.get<ResourceQuota>(resources.resourcequotas, NS, 'q');
      return x.status?.hard?.pods === '3' && x;
    });
    expect(q.status!.hard).toEqual({ ...hard, pods: '3', 'count/configmaps': '9' });
  });

  it('kubectl describe quota shows used against hard', async () => {
    const r = await s.kubectl(['describe', 'quota', 'q', '-n', NS]);
    expect(r.stdout).toMatch(/count\/configmaps\s+1\s+9/);
    expect(r.stdout).toMatch(/services\.nodeports\s+2\s+3/);
  });
});
