// StatefulSets through the API server with the controller manager, the
// scheduler and a simulated kubelet: ordered creation with stable names,
// hostnames and claims, reverse-order scale-down, a reverse-ordinal rolling
// update, and kubectl rollout status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatefulSet } from '../../src/api/apps.js';
import type { PersistentVolumeClaim, Pod } from '../../src/api/core.js';
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
  kubelet = await startSimKubelet({ client, nodes: ['s1', 's2'] });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false });
});
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

const live = () => kubelet.pods.store.byNamespace(NS).filter((p) => p.metadata.labels?.app === 'db' && !p.metadata.deletionTimestamp);
const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const names = () => live().map((p) => p.metadata.name).sort();

describe('statefulset controller', () => {
  it('creates pods in order with stable identity, scales down in reverse, rolls updates from the top', async () => {
    const order: string[] = [];
    const violations: string[] = [];
    const off = kubelet.pods.on({
      add(p) {
        if (p.metadata.labels?.app !== 'db') return;
        order.push(p.metadata.name!);
        const i = Number(p.metadata.name!.split('-')[1]);
        for (let j = 0; j < i; j++) if (!live().some((q) => q.metadata.name === `db-${j}` && ready(q))) violations.push(`db-${i} before db-${j} was ready`);
      },
    });
    await client.create<StatefulSet>(resources.statefulsets, NS, {
      metadata: { name: 'db', namespace: NS },
      spec: {
        replicas: 3,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'db:1' }] } },
        // (no volumeMount of "data": the API server rejects mounts of claim-template volumes, see the report)
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    });
    await waitFor('3 ready', () => live().length === 3 && live().every(ready));
    off();
    expect(order).toEqual(['db-0', 'db-1', 'db-2']);
    expect(violations).toEqual([]);
    const p1 = live().find((p) => p.metadata.name === 'db-1')!;
    expect(p1.spec.hostname).toBe('db-1');
    expect(p1.spec.subdomain).toBe('db');
    expect(p1.spec.volumes?.find((v) => v.name === 'data')).toMatchObject({ persistentVolumeClaim: { claimName: 'data-db-1' } });
    const claims = (await client.list<PersistentVolumeClaim>(resources.persistentvolumeclaims, NS)).items.map((c) => c.metadata.name).sort();
    expect(claims).toEqual(['data-db-0', 'data-db-1', 'data-db-2']);
    expect((await s.kubectl(['rollout', 'status', 'statefulset/db', '--timeout=20s'])).code).toBe(0);

    // Rolling update: db-2, then db-1, then db-0.
    const replaced: string[] = [];
    const known = new Set(kubelet.pods.store.list().map((p) => p.metadata.uid));
    // on() replays the cache as adds; only pods created from here on count.
    const off2 = kubelet.pods.on({ add: (p) => p.metadata.labels?.app === 'db' && !known.has(p.metadata.uid) && replaced.push(p.metadata.name!) });
    await client.patch(resources.statefulsets, NS, 'db', { spec: { template: { spec: { containers: [{ name: 'c', image: 'db:2' }] } } } }, 'strategic');
    await waitFor('updated', () => live().length === 3 && live().every((p) => ready(p) && p.spec.containers[0].image === 'db:2'));
    off2();
    expect(replaced).toEqual(['db-2', 'db-1', 'db-0']);
    const r = await s.kubectl(['rollout', 'status', 'statefulset/db', '--timeout=20s']);
    expect(r.code).toBe(0);
    const st = await waitFor('revisions converge', async () => { const x = (await client.get<StatefulSet>(resources.statefulsets, NS, 'db')).status as Record<string, unknown>; return x.currentRevision === x.updateRevision ? x : undefined; });
    expect(st).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 3 });

    await client.patch(resources.statefulsets, NS, 'db', { spec: { replicas: 1 } });
    await waitFor('scaled to 1', () => JSON.stringify(names()) === JSON.stringify(['db-0']));
    // Claims stay, as upstream keeps them for a later scale-up.
    expect((await client.list(resources.persistentvolumeclaims, NS)).items).toHaveLength(3);
  });
});
