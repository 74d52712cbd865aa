// Leader election between two controller managers over a Lease: exactly
// one runs controllers; when it stops (releasing the lease) the other
// takes over and keeps reconciling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/api/apps.js';
import type { Deployment } from '../../src/api/apps.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let kubelet: SimKubelet;
const managers: ControllerManagerHandle[] = [];
// Generous lease timings so a slow machine never loses the lease by accident; a released lease is taken at the next retry.
const election = { leaseDurationMs: 8000, renewDeadlineMs: 6000, retryPeriodMs: 100 };

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['n1'] });
});
afterAll(async () => {
  for (const m of managers) await m.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

const available = (name: string, n: number) =>
  waitFor(`${name} available`, async () => {
    const d = await client.get<Deployment>(resources.deployments, 'default', name);
    return d.status?.availableReplicas === n && d.status.observedGeneration === d.metadata.generation;
  });

const dep = (name: string): Deployment => ({ metadata: { name, namespace: 'default' }, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });

describe('leader election', () => {
  it('runs one active manager and fails over when it stops', async () => {
    const a = await startControllerManager({ kubeconfig: s.kubeconfig, identity: 'cm-a', leaderElection: election });
    managers.push(a);
    await a.leading();
    const b = await startControllerManager({ kubeconfig: s.kubeconfig, identity: 'cm-b', leaderElection: election });
    managers.push(b);
    const lease = await client.get<Lease>(resources.leases, 'kube-system', 'ebbflow-controller-manager');
    expect(lease.spec?.holderIdentity).toBe('cm-a');
    expect(a.isLeader()).toBe(true);

    await client.create(resources.deployments, 'default', dep('one'));
    await available('one', 1);
    // The standby never took over while the leader renewed.
    expect(b.isLeader()).toBe(false);

    await a.stop();
    expect(a.isLeader()).toBe(false);
    await waitFor('b leads', () => b.isLeader(), 10_000);
    const after = await client.get<Lease>(resources.leases, 'kube-system', 'ebbflow-controller-manager');
    expect(after.spec?.holderIdentity).toBe('cm-b');
    expect(after.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);

    await client.create(resources.deployments, 'default', dep('two'));
    await available('two', 1);
    await client.patch(resources.deployments, 'default', 'one', { spec: { replicas: 2 } });
    await available('one', 2);
  });
});
