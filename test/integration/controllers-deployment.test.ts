// Deployments through the real API server with the controller manager
// (ReplicaSet, Deployment, GC controllers and the scheduler) and a
// simulated kubelet: creation, rolling update within maxUnavailable /
// maxSurge at every observed step, rollback, scale, Recreate, deletion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, ReplicaSet } from '../../src/api/apps.js';
import type { Pod } from '../../src/api/core.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { objectVersions, startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let kubelet: SimKubelet;
let cm: ControllerManagerHandle;
const NS = 'default';

function deployment(name: string, replicas: number, image: string, strategy?: Deployment['spec']['strategy']): Deployment {
  return {
    metadata: { name, namespace: NS },
    spec: { replicas, selector: { matchLabels: { app: name } }, ...(strategy ? { strategy } : {}), template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } } },
  };
}

const podsOf = (app: string) => kubelet.pods.store.byNamespace(NS).filter((p) => p.metadata.labels?.app === app);
const live = (p: Pod) => !p.metadata.deletionTimestamp;
const ready = (p: Pod) => live(p) && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function rolledOut(name: string, replicas: number): Promise<Deployment> {
  return waitFor(`deployment ${name} rolled out`, async () => {
    const d = await client.get<Deployment>(resources.deployments, NS, name);
    const st = d.status;
    const progressing = st?.conditions?.find((c) => c.type === 'Progressing');
    const done = st && st.observedGeneration === d.metadata.generation && st.updatedReplicas === replicas && st.replicas === replicas && st.availableReplicas === replicas && progressing?.reason === 'NewReplicaSetAvailable';
    const pods = podsOf(name);
    return done && pods.length === replicas && pods.every(ready) ? d : undefined;
  });
}

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['node-a', 'node-b'], ready: (p) => p.metadata.labels?.health !== 'never' });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false });
});
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

describe('deployment controller', () => {
  it('creates a ReplicaSet and 3 bound, ready pods with owner references and status', async () => {
    await client.create(resources.deployments, NS, deployment('web', 3, 'nginx:1'));
    const d = await rolledOut('web', 3);
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    const sets = (await client.list<ReplicaSet>(resources.replicasets, NS)).items.filter((rs) => rs.metadata.labels?.app === 'web');
    expect(sets).toHaveLength(1);
    const rs = sets[0];
    const hash = rs.metadata.labels?.['pod-template-hash'];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true });
    expect(rs.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 });
    const pods = podsOf('web');
    for (const p of pods) {
      expect(p.spec.nodeName).toMatch(/^node-[ab]$/);
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true });
      expect(p.metadata.labels?.['pod-template-hash']).toBe(hash);
    }
  });

  it('settles: no further writes once converged', async () => {
    // Everything controllers write (lease renewals by the simulated kubelet are not theirs).
    const kinds = [resources.deployments, resources.replicasets, resources.pods, resources.nodes, resources.services, resources.endpoints, resources.endpointslices, resources.configmaps];
    const before = await objectVersions(client, kinds);
    // Absence of writes can only be observed over time: one second of quiet.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await objectVersions(client, kinds)).toEqual(before);
  });

  it('rolls out a new template without exceeding maxUnavailable or maxSurge at any observed step', async () => {
    const violations: string[] = [];
    let steps = 0;
    const check = () => {
      const pods = podsOf('web');
      steps++;
      const readyCount = pods.filter(ready).length;
      const liveCount = pods.filter(live).length;
      if (readyCount < 2) violations.push(`only ${readyCount} ready`);
      if (liveCount > 4) violations.push(`${liveCount} live pods`);
    };
    const off = kubelet.pods.on({ add: check, update: check, delete: check });
    try {
      await client.patch(resources.deployments, NS, 'web', { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } }, template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, 'strategic');
      const d = await rolledOut('web', 3);
      expect(podsOf('web').every((p) => p.spec.containers[0].image === 'nginx:2')).toBe(true);
      expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    } finally {
      off();
    }
    expect(steps).toBeGreaterThan(6);
    expect(violations).toEqual([]);
    const sets = (await client.list<ReplicaSet>(resources.replicasets, NS)).items.filter((rs) => rs.metadata.labels?.app === 'web');
    expect(sets.map((rs) => rs.spec.replicas).sort()).toEqual([0, 3]);
  });

  it('rolls back by restoring the old template, reusing the old ReplicaSet under a new revision', async () => {
    const sets = (await client.list<ReplicaSet>(resources.replicasets, NS)).items;
    const first = sets.find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1')!;
    const template = structuredClone(first.spec.template!);
    delete template.metadata!.labels!['pod-template-hash'];
    await client.patch(resources.deployments, NS, 'web', [{ op: 'replace', path: '/spec/template', value: template }], 'json');
    const d = await rolledOut('web', 3);
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    const rs = await client.get<ReplicaSet>(resources.replicasets, NS, first.metadata.name!);
    expect(rs.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(rs.spec.replicas).toBe(3);
    expect(podsOf('web').every((p) => p.spec.containers[0].image === 'nginx:1')).toBe(true);
  });

  it('scales through the scale subresource', async () => {
    await client.patch(resources.deployments, NS, 'web', { spec: { replicas: 5 } }, 'merge', 'scale');
    await rolledOut('web', 5);
    await client.patch(resources.deployments, NS, 'web', { spec: { replicas: 2 } }, 'merge', 'scale');
    await rolledOut('web', 2);
  });

  it('Recreate removes all old pods before creating new ones', async () => {
    await client.create(resources.deployments, NS, deployment('batchy', 2, 'busybox:1', { type: 'Recreate' }));
    await rolledOut('batchy', 2);
    const violations: string[] = [];
    const check = () => {
      const pods = podsOf('batchy');
      const images = new Set(pods.map((p) => p.spec.containers[0].image));
      if (images.size > 1) violations.push([...images].join(','));
    };
    const off = kubelet.pods.on({ add: check, update: check, delete: check });
    try {
      await client.patch(resources.deployments, NS, 'batchy', { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } } } }, 'strategic');
      await waitFor('recreated pods', () => { const p = podsOf('batchy'); return p.length === 2 && p.every((x) => ready(x) && x.spec.containers[0].image === 'busybox:2'); });
      await rolledOut('batchy', 2);
    } finally {
      off();
    }
    expect(violations).toEqual([]);
  });

  it('keeps only revisionHistoryLimit old ReplicaSets', async () => {
    await client.create(resources.deployments, NS, { ...deployment('hist', 1, 'img:0'), spec: { ...deployment('hist', 1, 'img:0').spec, revisionHistoryLimit: 1 } });
    await rolledOut('hist', 1);
    for (const v of [1, 2, 3]) {
      await client.patch(resources.deployments, NS, 'hist', { spec: { template: { spec: { containers: [{ name: 'c', image: `img:${v}` }] } } } }, 'strategic');
      await rolledOut('hist', 1);
    }
    await waitFor('history pruned', async () => (await client.list<ReplicaSet>(resources.replicasets, NS)).items.filter((rs) => rs.metadata.labels?.app === 'hist').length === 2);
    const revs = (await client.list<ReplicaSet>(resources.replicasets, NS)).items.filter((rs) => rs.metadata.labels?.app === 'hist').map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision']).sort();
    expect(revs).toEqual(['3', '4']);
  });

  it('deleting a Deployment removes its ReplicaSets and pods (garbage collection)', async () => {
    await client.delete(resources.deployments, NS, 'web');
    await waitFor('replicasets gone', async () => (await client.list<ReplicaSet>(resources.replicasets, NS)).items.every((rs) => rs.metadata.labels?.app !== 'web'));
    await waitFor('pods gone', async () => (await client.list<Pod>(resources.pods, NS)).items.every((p) => p.metadata.labels?.app !== 'web'));
  });

  it('foreground deletion removes dependents before the owner', async () => {
    const d = await client.get<Deployment>(resources.deployments, NS, 'batchy');
    await client.delete(resources.deployments, NS, 'batchy', { propagationPolicy: 'Foreground' });
    const during = await client.get<Deployment>(resources.deployments, NS, 'batchy').catch(() => undefined);
    if (during) expect(during.metadata.finalizers).toContain('foregroundDeletion');
    await waitFor('deployment gone', async () => !(await client.get(resources.deployments, NS, 'batchy').catch(() => undefined)));
    const left = (await client.list<ReplicaSet>(resources.replicasets, NS)).items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
    expect(left).toEqual([]);
    expect((await client.list<Pod>(resources.pods, NS)).items.filter((p) => p.metadata.labels?.app === 'batchy')).toEqual([]);
  });

  it('orphan deletion keeps the ReplicaSets without an owner', async () => {
    const d = await client.get<Deployment>(resources.deployments, NS, 'hist');
    await client.delete(resources.deployments, NS, 'hist', { propagationPolicy: 'Orphan' });
    await waitFor('deployment gone', async () => !(await client.get(resources.deployments, NS, 'hist').catch(() => undefined)));
    const sets = (await client.list<ReplicaSet>(resources.replicasets, NS)).items.filter((rs) => rs.metadata.labels?.app === 'hist');
    expect(sets.length).toBe(2);
    for (const rs of sets) expect(rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid) ?? false).toBe(false);
    expect(podsOf('hist').filter(live)).toHaveLength(1);
  });

  it('drops a dangling owner reference while another owner lives, and deletes the dependent once all owners are gone', async () => {
    const a = await client.create(resources.configmaps, NS, { metadata: { name: 'owner-a', namespace: NS } });
    const b = await client.create(resources.configmaps, NS, { metadata: { name: 'owner-b', namespace: NS } });
    const ref = (o: typeof a) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name!, uid: o.metadata.uid! });
    await client.create(resources.configmaps, NS, { metadata: { name: 'dependent', namespace: NS, ownerReferences: [ref(a), ref(b)] } });
    await client.delete(resources.configmaps, NS, 'owner-a');
    await waitFor('dangling ref removed', async () => {
      const d = await client.get(resources.configmaps, NS, 'dependent');
      return d.metadata.ownerReferences?.length === 1 && d.metadata.ownerReferences[0].uid === b.metadata.uid;
    });
    await client.delete(resources.configmaps, NS, 'owner-b');
    await waitFor('dependent collected', async () => !(await client.get(resources.configmaps, NS, 'dependent').catch(() => undefined)));
  });

  it('scales a stalled rollout proportionally across the old and new ReplicaSets', async () => {
    const strategy = { type: 'RollingUpdate' as const, rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } };
    await client.create(resources.deployments, NS, deployment('prop', 10, 'app:1', strategy));
    await rolledOut('prop', 10);
    // The new template's pods never become ready, so the rollout stops at 8 old + 5 new.
    await client.patch(resources.deployments, NS, 'prop', { spec: { template: { metadata: { labels: { app: 'prop', health: 'never' } } } } }, 'strategic');
    const sizes = async () => {
      const sets = (await client.list<ReplicaSet>(resources.replicasets, NS)).items.filter((rs) => rs.metadata.labels?.app === 'prop');
      return sets.sort((a, b) => Number(a.metadata.annotations?.['deployment.kubernetes.io/revision']) - Number(b.metadata.annotations?.['deployment.kubernetes.io/revision'])).map((rs) => rs.spec.replicas);
    };
    await waitFor('stalled at 8 + 5', async () => JSON.stringify(await sizes()) === '[8,5]');
    await client.patch(resources.deployments, NS, 'prop', { spec: { replicas: 20 } }, 'merge', 'scale');
    await waitFor('proportional 14 + 9', async () => JSON.stringify(await sizes()) === '[14,9]');
    const d = await client.get<Deployment>(resources.deployments, NS, 'prop');
    expect(d.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).not.toBe('NewReplicaSetAvailable');
  });
});
