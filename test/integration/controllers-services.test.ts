// Services through the real API server with the controller manager:
// ClusterIP and NodePort allocation, EndpointSlices and Endpoints that
// follow pod readiness and termination with named target ports, pod CIDRs
// for nodes, and an unschedulable pod's PodScheduled condition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointSlice } from '../../src/api/apps.js';
import type { Endpoints, Event, Node, Pod, Service } from '../../src/api/core.js';
import { connect, type Client } from '../../src/client/client.js';
import { createEventRecorder } from '../../src/client/events.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { objectVersions, startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let kubelet: SimKubelet;
let cm: ControllerManagerHandle;
const NS = 'default';

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['n1', 'n2'], ready: (p) => p.metadata.labels?.start !== 'unready' });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false });
});
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

const slicesOf = async (svc: string) => (await client.list<EndpointSlice>(resources.endpointslices, NS, { labelSelector: `kubernetes.io/service-name=${svc}` })).items;

function pod(name: string, labels: Record<string, string>, portName = 'http', port = 8080): Pod {
  return { metadata: { name, namespace: NS, labels }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ name: portName, containerPort: port }] }] } };
}

describe('service IP allocation', () => {
  it('allocates ClusterIPs from 10.96.0.0/12 (never .1 or .10 for others) and NodePorts in 30000-32767', async () => {
    // The API server's own Service holds the first address; the allocator must treat it as taken.
    expect((await client.get<Service>(resources.services, NS, 'kubernetes')).spec.clusterIP).toBe('10.96.0.1');
    await client.create<Service>(resources.services, NS, { metadata: { name: 'a', namespace: NS }, spec: { selector: { app: 'a' }, ports: [{ port: 80 }] } });
    await client.create<Service>(resources.services, NS, { metadata: { name: 'np', namespace: NS }, spec: { type: 'NodePort', selector: { app: 'np' }, ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }] } });
    const a = await waitFor('clusterIP a', async () => (await client.get<Service>(resources.services, NS, 'a')).spec.clusterIP && client.get<Service>(resources.services, NS, 'a'));
    const np = await waitFor('nodePorts', async () => {
      const x = await client.get<Service>(resources.services, NS, 'np');
      return x.spec.clusterIP && x.spec.ports?.every((p) => p.nodePort) ? x : undefined;
    });
    for (const svc of [a, np]) {
      const ip = svc.spec.clusterIP!.split('.').map(Number);
      expect(ip[0]).toBe(10);
      expect(ip[1] >= 96 && ip[1] <= 111).toBe(true);
      expect(['10.96.0.1', '10.96.0.10']).not.toContain(svc.spec.clusterIP);
      expect(svc.spec.clusterIPs).toEqual([svc.spec.clusterIP]);
    }
    expect(a.spec.clusterIP).not.toBe(np.spec.clusterIP);
    const ports = np.spec.ports!.map((p) => p.nodePort!);
    expect(new Set(ports).size).toBe(2);
    for (const p of ports) expect(p >= 30000 && p <= 32767).toBe(true);
  });

  it('gives the DNS Service its well-known 10.96.0.10 and keeps requested IPs', async () => {
    await client.create<Service>(resources.services, 'kube-system', { metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { selector: { k8s: 'dns' }, ports: [{ port: 53, protocol: 'UDP' }] } });
    await waitFor('dns ip', async () => (await client.get<Service>(resources.services, 'kube-system', 'kube-dns')).spec.clusterIP === '10.96.0.10');
    await client.create<Service>(resources.services, NS, { metadata: { name: 'fixed', namespace: NS }, spec: { clusterIP: '10.96.5.5', selector: { app: 'f' }, ports: [{ port: 80 }] } });
    await client.create<Service>(resources.services, NS, { metadata: { name: 'later', namespace: NS }, spec: { selector: { app: 'l' }, ports: [{ port: 80 }] } });
    const later = await waitFor('later ip', async () => (await client.get<Service>(resources.services, NS, 'later')).spec.clusterIP);
    expect(later).not.toBe('10.96.5.5');
    expect((await client.get<Service>(resources.services, NS, 'fixed')).spec.clusterIP).toBe('10.96.5.5');
  });
});

describe('endpointslice controller', () => {
  it('lists ready pods with nodeName, targetRef and named target ports; follows readiness and deletion', async () => {
    await client.create<Service>(resources.services, NS, { metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'raw', port: 81, targetPort: 9000 }] } });
    await client.create(resources.pods, NS, pod('web-1', { app: 'web' }));
    await client.create(resources.pods, NS, pod('web-2', { app: 'web' }, 'http', 8081));
    await client.create(resources.pods, NS, pod('web-3', { app: 'web', start: 'unready' }));
    await client.create(resources.pods, NS, pod('other', { app: 'other' }));

    const endpointsByName = async () => {
      const slices = await slicesOf('web');
      return new Map(slices.flatMap((sl) => sl.endpoints.map((e) => [e.targetRef!.name!, { e, ports: sl.ports, slice: sl }] as const)));
    };
    let eps = await waitFor('three endpoints with IPs', async () => {
      const m = await endpointsByName();
      return m.size === 3 ? m : undefined;
    });
    expect(eps.has('other')).toBe(false);
    const w1 = eps.get('web-1')!;
    expect(w1.e.conditions).toEqual({ ready: true, serving: true, terminating: false });
    expect(w1.e.nodeName).toMatch(/^n[12]$/);
    expect(w1.e.targetRef).toMatchObject({ kind: 'Pod', namespace: NS, name: 'web-1' });
    expect(w1.ports?.find((p) => p.name === 'http')?.port).toBe(8080);
    expect(w1.ports?.find((p) => p.name === 'raw')?.port).toBe(9000);
    expect(eps.get('web-2')!.ports?.find((p) => p.name === 'http')?.port).toBe(8081);
    expect(eps.get('web-3')!.e.conditions).toEqual({ ready: false, serving: false, terminating: false });
    expect(w1.slice.metadata.labels).toMatchObject({ 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    expect(w1.slice.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'web', controller: true });
    expect(w1.slice.addressType).toBe('IPv4');

    await kubelet.setReady(NS, 'web-3', true);
    await waitFor('web-3 ready', async () => (await endpointsByName()).get('web-3')?.e.conditions?.ready === true);
    await kubelet.setReady(NS, 'web-1', false);
    await waitFor('web-1 not ready', async () => (await endpointsByName()).get('web-1')?.e.conditions?.ready === false);

    const ep = await waitFor('legacy endpoints', async () => {
      const e = await client.get<Endpoints>(resources.endpoints, NS, 'web');
      const ready = (e.subsets ?? []).flatMap((x) => x.addresses ?? []).map((a) => a.targetRef?.name).sort();
      return JSON.stringify(ready) === JSON.stringify(['web-2', 'web-3']) ? e : undefined;
    });
    expect((ep.subsets ?? []).flatMap((x) => x.notReadyAddresses ?? []).map((a) => a.targetRef?.name)).toEqual(['web-1']);

    // Deleting a pod removes its endpoint once the kubelet has finished the graceful deletion.
    await client.delete(resources.pods, NS, 'web-2');
    await waitFor('web-2 gone', async () => !(await endpointsByName()).has('web-2'));
    eps = await endpointsByName();
    expect([...eps.keys()].sort()).toEqual(['web-1', 'web-3']);
  });

  it('reports a terminating endpoint as serving but not ready', async () => {
    await client.create<Service>(resources.services, NS, { metadata: { name: 'term', namespace: NS }, spec: { selector: { app: 'term' }, ports: [{ port: 80, targetPort: 8080 }] } });
    // A finalizer keeps the pod around in its terminating state.
    await client.create(resources.pods, NS, { ...pod('term-1', { app: 'term' }), metadata: { name: 'term-1', namespace: NS, labels: { app: 'term' }, finalizers: ['example.com/hold'] } });
    await waitFor('ready endpoint', async () => (await slicesOf('term')).some((sl) => sl.endpoints.some((e) => e.conditions?.ready)));
    await kubelet.stop();
    await client.delete(resources.pods, NS, 'term-1', { gracePeriodSeconds: 30 });
    const e = await waitFor('terminating endpoint', async () => (await slicesOf('term')).flatMap((sl) => sl.endpoints).find((x) => x.conditions?.terminating));
    expect(e.conditions).toEqual({ ready: false, serving: true, terminating: true });
    kubelet = await startSimKubelet({ client, nodes: ['n1', 'n2'] });
    await client.patch(resources.pods, NS, 'term-1', { metadata: { finalizers: null } });
  });

  it('removes slices when the service is deleted', async () => {
    expect((await slicesOf('web')).length).toBeGreaterThan(0);
    await client.delete(resources.services, NS, 'web');
    await waitFor('slices gone', async () => (await slicesOf('web')).length === 0);
    await waitFor('endpoints gone', async () => !(await client.get(resources.endpoints, NS, 'web').catch(() => undefined)));
  });
});

describe('node IPAM and scheduling', () => {
  it('assigns each node a distinct /24 from 10.244.0.0/16', async () => {
    const nodes = await waitFor('pod CIDRs', async () => {
      const l = (await client.list<Node>(resources.nodes)).items;
      return l.length === 2 && l.every((n) => n.spec?.podCIDR) ? l : undefined;
    });
    const cidrs = nodes.map((n) => n.spec!.podCIDR!);
    expect(new Set(cidrs).size).toBe(2);
    for (const [i, n] of nodes.entries()) {
      expect(cidrs[i]).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(n.spec?.podCIDRs).toEqual([cidrs[i]]);
    }
  });

  it('marks a pod that fits nowhere PodScheduled=False with reason Unschedulable', async () => {
    await client.create(resources.pods, NS, { metadata: { name: 'huge', namespace: NS }, spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '100' } } }] } });
    const cond = await waitFor('unschedulable', async () => (await client.get<Pod>(resources.pods, NS, 'huge')).status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'));
    expect(cond.reason).toBe('Unschedulable');
    expect(cond.message).toMatch(/Insufficient cpu/);
  });
});

describe('event recorder', () => {
  it('writes core/v1 Events and aggregates repeats into a count', async () => {
    const cm = await client.create(resources.configmaps, NS, { metadata: { name: 'evented', namespace: NS } });
    const rec = createEventRecorder(client, { component: 'test-controller', host: 'h1' });
    for (let i = 0; i < 3; i++) rec.event(cm, 'Warning', 'Broken', 'it broke');
    rec.event(cm, 'Normal', 'Fixed', 'it works');
    await rec.flush();
    const evs = (await client.list<Event>(resources.events, NS, { fieldSelector: 'involvedObject.name=evented' })).items;
    expect(evs).toHaveLength(2);
    const broken = evs.find((e) => e.reason === 'Broken')!;
    expect(broken).toMatchObject({ type: 'Warning', message: 'it broke', count: 3, source: { component: 'test-controller', host: 'h1' }, involvedObject: { kind: 'ConfigMap', name: 'evented', namespace: NS, uid: cm.metadata.uid } });
    expect(Date.parse(broken.lastTimestamp!)).toBeGreaterThanOrEqual(Date.parse(broken.firstTimestamp!));
    expect(evs.find((e) => e.reason === 'Fixed')?.count).toBe(1);
  });
});

describe('steady state', () => {
  it('makes no further writes once services, slices and endpoints have converged', async () => {
    const kinds = [resources.pods, resources.nodes, resources.services, resources.endpoints, resources.endpointslices];
    // Let the work from the earlier tests drain: the versions stop moving.
    let before = await objectVersions(client, kinds);
    await waitFor('quiet', async () => {
      await new Promise((r) => setTimeout(r, 300));
      const now = await objectVersions(client, kinds);
      const quiet = JSON.stringify(now) === JSON.stringify(before);
      before = now;
      return quiet;
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await objectVersions(client, kinds)).toEqual(before);
  });
});
