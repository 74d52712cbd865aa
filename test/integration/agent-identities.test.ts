// Cluster-wide identities through the real API server: agents racing for
// the same label sets agree on every number, numbers survive a restart of
// the allocator (and so of the agent), and the objects live in kube-system.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiIdentityStore, ClusterIdentities, clusterIdentities, IDENTITY_LABEL } from '../../src/agent/identities.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { podIdentityKey } from '../../src/policy/identity.js';
import { StoreIdentityAllocator } from '../../src/policy/identity-store.js';
import { baseCluster } from '../helpers/policy-cases.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

describe('cluster-wide identities over the API server', () => {
  let server: TestServer;
  const clients: Client[] = [];
  const client = () => {
    const c = connect(server.kubeconfig);
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('gives the same numbers to every agent, even when they race', async () => {
    const state = baseCluster();
    const agents = [new ClusterIdentities(new StoreIdentityAllocator(new ApiIdentityStore(client()))), new ClusterIdentities(new StoreIdentityAllocator(new ApiIdentityStore(client()))), new ClusterIdentities(new StoreIdentityAllocator(new ApiIdentityStore(client())))];
    await Promise.all(agents.map((a) => a.prepare(state)));
    const ns = new Map(state.namespaces.map((n) => [n.metadata.name!, n]));
    const keys = [...new Set(state.pods.map((p) => podIdentityKey(p, ns)))];
    expect(keys).toHaveLength(9);
    const numbers = agents.map((a) => keys.map((k) => a.pod(k)));
    expect(numbers[1]).toEqual(numbers[0]);
    expect(numbers[2]).toEqual(numbers[0]);
    expect(new Set(numbers[0]).size).toBe(9);
    for (const id of numbers[0]!) expect(id).toBeGreaterThanOrEqual(256);
    const objs = await client().list(resources.configmaps, 'kube-system', { labelSelector: `${IDENTITY_LABEL}=v1` });
    expect(objs.items).toHaveLength(18); // one number claim + one label-set binding per identity
  });

  it('keeps the numbers for a restarted agent and extends them for new label sets', async () => {
    const state = baseCluster();
    const ns = new Map(state.namespaces.map((n) => [n.metadata.name!, n]));
    const before = new ClusterIdentities(new StoreIdentityAllocator(new ApiIdentityStore(client())));
    await before.load();
    await before.prepare(state);
    const keys = state.pods.map((p) => podIdentityKey(p, ns));
    const restarted = await clusterIdentities(client());
    const extra = { ...state.pods[0]!, metadata: { ...state.pods[0]!.metadata, name: 'new', labels: { pod: 'new' } } };
    await restarted.prepare({ ...state, pods: [...state.pods, extra] } as never);
    expect(keys.map((k) => restarted.pod(k))).toEqual(keys.map((k) => before.pod(k)));
    const fresh = restarted.pod(podIdentityKey(extra, ns));
    expect(keys.map((k) => before.pod(k))).not.toContain(fresh);
    // Another agent learns the new number from the store, not by allocating anew.
    const other = await clusterIdentities(client());
    await other.prepare({ ...state, pods: [extra] } as never);
    expect(other.pod(podIdentityKey(extra, ns))).toBe(fresh);
  });
});
