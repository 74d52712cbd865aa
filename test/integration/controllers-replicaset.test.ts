// ReplicaSet adoption and release, replacement of deleted pods, and a
// Deployment whose pods never become ready hitting its progress deadline
// (as kubectl rollout status reports it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, ReplicaSet } from '../../src/api/apps.js';
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
const NS = 'default';

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['n1'], ready: (p) => p.metadata.labels?.health !== 'never' });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false });
});
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

const live = async (sel: string) => (await client.list<Pod>(resources.pods, NS, { labelSelector: sel })).items.filter((p) => !p.metadata.deletionTimestamp);

describe('replicaset controller', () => {
  it('adopts matching orphans, releases pods whose labels change, replaces deleted pods', async () => {
    for (const n of ['orphan-1', 'orphan-2']) await client.create(resources.pods, NS, { metadata: { name: n, namespace: NS, labels: { app: 'rs' } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    const rs = await client.create<ReplicaSet>(resources.replicasets, NS, { metadata: { name: 'rs', namespace: NS }, spec: { replicas: 3, selector: { matchLabels: { app: 'rs' } }, template: { metadata: { labels: { app: 'rs' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
    const pods = await waitFor('3 owned pods', async () => {
      const l = await live('app=rs');
      return l.length === 3 && l.every((p) => p.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid && r.controller)) ? l : undefined;
    });
    expect(pods.map((p) => p.metadata.name).filter((n) => n!.startsWith('orphan')).sort()).toEqual(['orphan-1', 'orphan-2']);

    await client.patch(resources.pods, NS, 'orphan-1', { metadata: { labels: { app: 'elsewhere' } } });
    await waitFor('released and replaced', async () => {
      const released = await client.get<Pod>(resources.pods, NS, 'orphan-1');
      return !released.metadata.ownerReferences?.length && (await live('app=rs')).length === 3;
    });

    await client.delete(resources.pods, NS, 'orphan-2');
    await waitFor('replacement', async () => {
      const l = await live('app=rs');
      return l.length === 3 && !l.some((p) => p.metadata.name === 'orphan-2');
    });
    const st = await waitFor('status', async () => {
      const x = await client.get<ReplicaSet>(resources.replicasets, NS, 'rs');
      return x.status?.readyReplicas === 3 ? x.status : undefined;
    });
    expect(st).toMatchObject({ replicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 });
  });
});

describe('progress deadline', () => {
  it('marks Progressing=False ProgressDeadlineExceeded and kubectl rollout status fails', async () => {
    await client.create<Deployment>(resources.deployments, NS, { metadata: { name: 'stuck', namespace: NS }, spec: { replicas: 1, progressDeadlineSeconds: 1, selector: { matchLabels: { app: 'stuck' } }, template: { metadata: { labels: { app: 'stuck', health: 'never' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
    const cond = await waitFor('deadline exceeded', async () => {
      const d = await client.get<Deployment>(resources.deployments, NS, 'stuck');
      return d.status?.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
    }, 15_000);
    expect(cond.status).toBe('False');
    const r = await s.kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=10s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('exceeded its progress deadline');
  });
});
