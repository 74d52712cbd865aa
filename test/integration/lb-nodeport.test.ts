// NodePort Services through the real eBPF dataplane on two "nodes": a
// fabric namespace with a bridge and the external client (10.239.0.1),
// two node namespaces with an uplink veth on that bridge, ip_forward and a
// route to each other's pod CIDR, one backend pod each (and a client pod
// on node 1), a dataplane per node with its own pins, the pod tc programs
// on every pod veth and the NodePort programs on each uplink.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import { NODEPORT_WILDCARD } from '../../src/dataplane/lb-nodeport.js';
import { ipv4ToNumber } from '../../src/dataplane/ip.js';
import type { EndpointSliceShape, ServiceShape } from '../../src/dataplane/lb-model.js';
import { METRIC, readCounter, readDropCounter } from '../../src/dataplane/maps/metrics.js';
import { NP_F_SNAT, NP_TUPLE_F_REPLY } from '../../src/dataplane/maps/nodeport.js';
import { SVC_F_LOCAL, SVC_F_NODEPORT } from '../../src/dataplane/maps/lb-services.js';
import { ServiceTable } from '../../src/dataplane/service-table.js';
import { startServiceSync } from '../../src/agent/service-sync.js';
import { connect } from '../../src/client/client.js';
import { createInformerFactory } from '../../src/client/factory.js';
import { createLogger } from '../../src/log/logger.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { probeScript, type ProbeResult } from '../../src/demo/probes.js';
import { run } from '../../src/netns/exec.js';
import {
  addAddress, addRoute, CGROUP2_ROOT, createCgroup, createNetns, createPodNetwork, createVethPair, deleteNetns,
  netnsPath, removeCgroup, setUp, spawnInNetns, type NetnsProcess, type PodNetwork,
} from '../../src/netns/index.js';
import { waitFor } from '../helpers/wait.js';

const root = process.getuid?.() === 0;
if (!root) console.log('lb-nodeport: skipped, needs root for namespaces and BPF');

const CLIENT = '10.239.0.1';
const N1 = '10.239.0.2';
const N2 = '10.239.0.3';
const BE1 = '10.240.1.10';
const BE2 = '10.240.2.10';
const POD_CLIENT = '10.240.1.20';
const BACKEND_PORT = 8080;
const DROP_NO_BACKEND = -132;
const DROP_NO_LOCAL_BACKEND = -141;

const nodePortSvc = (name: string, tcp: number, udp: number, extra: Partial<NonNullable<ServiceShape['spec']>> = {}, annotations?: Record<string, string>): ServiceShape => ({
  metadata: { name, namespace: 'np', annotations },
  spec: {
    type: 'NodePort',
    clusterIP: `10.96.77.${tcp % 200}`,
    ports: [{ name: 'tcp', port: 80, protocol: 'TCP', nodePort: tcp }, { name: 'udp', port: 53, protocol: 'UDP', nodePort: udp }],
    ...extra,
  },
});

const slice = (svc: string, eps: { ip: string; node: string }[]): EndpointSliceShape => ({
  metadata: { name: `${svc}-x`, namespace: 'np', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: true, serving: true, terminating: false } })),
  ports: [{ name: 'tcp', port: BACKEND_PORT, protocol: 'TCP' }, { name: 'udp', port: BACKEND_PORT, protocol: 'UDP' }],
});

const BOTH = [{ ip: BE1, node: 'n1' }, { ip: BE2, node: 'n2' }];
const SERVICES: ServiceShape[] = [
  nodePortSvc('web', 30080, 30053),
  nodePortSvc('mag', 30081, 30054, {}, { 'service.ebbflow.io/lb-algorithm': 'maglev' }),
  nodePortSvc('local', 30090, 30055, { externalTrafficPolicy: 'Local' }),
  nodePortSvc('remote-only', 30091, 30056, { externalTrafficPolicy: 'Local' }),
  nodePortSvc('empty', 30099, 30057),
];
const SLICES: EndpointSliceShape[] = [
  slice('web', BOTH), slice('mag', BOTH), slice('local', BOTH),
  slice('remote-only', [{ ip: BE2, node: 'n2' }]), slice('empty', []),
];

interface Node {
  name: string;
  ip: string;
  net: PodNetwork;
  dp: Dataplane;
  table: ServiceTable;
  pinRoot: string;
}

describe.skipIf(!root)('NodePort Services on the uplink and from pods', () => {
  const id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  const prefix = `ebftest-np-${id}`;
  const fabric = `${prefix}-fab`;
  const cgroup = `${CGROUP2_ROOT}/ebftest-np-${id}`;
  const nodes: Node[] = [];
  const nets: PodNetwork[] = [];
  const procs: NetnsProcess[] = [];
  const pinRoots: string[] = [];
  let fabricMade = false;
  let cgroupMade = false;

  const started = async (p: NetnsProcess, text = 'ready') => {
    await waitFor(`process ${p.pid} to print ${text}`, () => p.stdout.includes(text) || (p.stderr ? Promise.reject(new Error(p.stderr)) : false), 10_000);
  };

  /** Runs the probe client in a namespace (optionally in the socket-LB cgroup) and parses its summary. */
  const probe = async (ns: string, mode: 'tcp' | 'udp', host: string, port: number, count: number, opts: { timeoutMs?: number; cgroup?: string } = {}): Promise<ProbeResult> => {
    const args = [probeScript('client'), mode, host, String(port), String(count), ...(opts.timeoutMs ? [String(opts.timeoutMs)] : [])];
    const p = spawnInNetns(ns, process.execPath, args, opts.cgroup ? { cgroup: opts.cgroup } : {});
    const st = await p.wait();
    if (st.code !== 0) throw new Error(`probe client failed (${st.code}): ${st.stderr}`);
    return JSON.parse(st.stdout.trim().split('\n').pop()!) as ProbeResult;
  };
  const fromOutside = (mode: 'tcp' | 'udp', host: string, port: number, count: number, timeoutMs?: number) =>
    probe(fabric, mode, host, port, count, { timeoutMs });
  const podNs = (n: Node, pod: string) => n.net.pods.find((p) => p.name === pod)!.ns;

  beforeAll(async () => {
    await createNetns(fabric);
    fabricMade = true;
    await run('ip', ['-n', fabric, 'link', 'add', 'br0', 'type', 'bridge']);
    await setUp(fabric, 'br0');
    await addAddress(fabric, 'br0', `${CLIENT}/24`);

    const specs = [
      { name: 'n1', ip: N1, podNet: '10.240.1', pods: [{ name: 'be', ip: BE1 }, { name: 'client', ip: POD_CLIENT }], peerNet: '10.240.2.0/24', peer: N2 },
      { name: 'n2', ip: N2, podNet: '10.240.2', pods: [{ name: 'be', ip: BE2 }], peerNet: '10.240.1.0/24', peer: N1 },
    ];
    for (const [i, s] of specs.entries()) {
      const net = await createPodNetwork({ prefix: `${prefix}-${s.name}`, pods: s.pods, nodeIp: `10.239.255.${i + 1}` });
      nets.push(net);
      const port = `np${id.slice(0, 8)}${i}`;
      await createVethPair({ nsA: fabric, ifA: port, nsB: net.nodeNs, ifB: 'eth0' });
      await run('ip', ['-n', fabric, 'link', 'set', port, 'master', 'br0']);
      await setUp(fabric, port);
      await setUp(net.nodeNs, 'eth0');
      await addAddress(net.nodeNs, 'eth0', `${s.ip}/24`);
      await addRoute(net.nodeNs, s.peerNet, { via: s.peer, dev: 'eth0' });

      const pinRoot = `/sys/fs/bpf/ebbflow/${prefix}-${s.name}`;
      pinRoots.push(pinRoot);
      const dp = await loadDataplane({ node: s.name, pinRoot });
      for (const p of net.pods) await dp.attachEndpoint({ netns: netnsPath(net.nodeNs), ifname: p.hostIf });
      await dp.attachNodePort({ netns: netnsPath(net.nodeNs), ifname: 'eth0', nodeIP: s.ip });
      const table = ServiceTable.restore(dp.lb, { nodePort: { node: s.name, nodeIPs: [N1, N2] } });
      await table.fullSync(SERVICES, SLICES);
      nodes.push({ name: s.name, ip: s.ip, net, dp, table, pinRoot });
      const be = spawnInNetns(podNs(nodes[i], 'be'), process.execPath, [probeScript('server'), `be${i + 1}`, String(BACKEND_PORT)]);
      procs.push(be);
      await started(be);
    }
    // A listener of the node's own on a NodePort-range port no Service owns.
    const own = spawnInNetns(nodes[0].net.nodeNs, process.execPath, [probeScript('server'), 'node1-own', '30500']);
    procs.push(own);
    await started(own);
    await createCgroup(cgroup);
    cgroupMade = true;
    nodes[0].dp.attachSocketLb(cgroup);
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.wait()));
    for (const n of nodes) n.dp.destroy();
    for (const r of pinRoots) if (existsSync(r)) rmSync(r, { recursive: true, force: true });
    for (const net of nets) await net.destroy();
    if (fabricMade) await deleteNetns(fabric);
    if (cgroupMade) await removeCgroup(cgroup);
  }, 60_000);

  it('programs the wildcard uplink frontend and one frontend per node IP', () => {
    const headers = nodes[0].dp.lb.services.entries().filter(([k]) => k.slot === 0 && k.port === 30080);
    const byAddr = new Map(headers.map(([k, v]) => [k.address, v]));
    expect([...byAddr.keys()].sort()).toEqual([0, ipv4ToNumber(N1), ipv4ToNumber(N2)].sort());
    expect(byAddr.get(0)!.flags & SVC_F_NODEPORT).toBe(SVC_F_NODEPORT);
    expect(byAddr.get(ipv4ToNumber(N1))!.flags & SVC_F_NODEPORT).toBe(0);
    const local = nodes[0].dp.lb.services.get({ address: ipv4ToNumber(NODEPORT_WILDCARD), port: 30090, proto: 6, slot: 0 });
    expect(local).toMatchObject({ count: 1 });
    expect(local!.flags & SVC_F_LOCAL).toBe(SVC_F_LOCAL);
  });

  it('TCP from outside to node 1 reaches the local backend with the client IP and the remote one SNATed to node 1', async () => {
    const snatBefore = readCounter(nodes[0].dp.metrics, METRIC.nodePortSnat).packets;
    const r = await fromOutside('tcp', N1, 30080, 40);
    expect(r.errors).toEqual({});
    expect(r.ok).toBe(40);
    expect(r.backends.be1).toBeGreaterThanOrEqual(5);
    expect(r.backends.be2).toBeGreaterThanOrEqual(5);
    expect(r.peers).toEqual({ [`${N1}:30080`]: 40 });
    expect(r.sources.be1).toEqual({ [CLIENT]: r.backends.be1 });
    expect(r.sources.be2).toEqual({ [N1]: r.backends.be2 });
    expect(readCounter(nodes[0].dp.metrics, METRIC.nodePortSnat).packets - snatBefore).toBe(BigInt(r.backends.be2));
    // SNATed flows hold their reply entry under a port of the SNAT range.
    const snat = nodes[0].dp.nodePortNat.entries().filter(([k, v]) => k.flags === NP_TUPLE_F_REPLY && v.flags & NP_F_SNAT);
    expect(snat.length).toBeGreaterThanOrEqual(r.backends.be2);
    for (const [k] of snat) {
      expect(k.daddr).toBe(ipv4ToNumber(N1));
      expect(k.dport).toBeGreaterThanOrEqual(61000);
    }
  });

  it('node 2 answers the same NodePort with its own local backend and SNAT toward node 1', async () => {
    const r = await fromOutside('tcp', N2, 30080, 30);
    expect(r.errors).toEqual({});
    expect(r.ok).toBe(30);
    expect(r.peers).toEqual({ [`${N2}:30080`]: 30 });
    expect(r.sources.be2).toEqual({ [CLIENT]: r.backends.be2 });
    expect(r.sources.be1).toEqual({ [N2]: r.backends.be1 });
  });

  it('UDP NodePort: local and remote backends answer from nodeIP:nodePort', async () => {
    const r = await fromOutside('udp', N1, 30053, 30);
    expect(r.errors).toEqual({});
    expect(r.ok).toBe(30);
    expect(Object.keys(r.backends).sort()).toEqual(['be1', 'be2']);
    expect(r.peers).toEqual({ [`${N1}:30053`]: 30 });
    expect(r.sources.be1).toEqual({ [CLIENT]: r.backends.be1 });
    expect(r.sources.be2).toEqual({ [N1]: r.backends.be2 });
  });

  it('a Maglev NodePort service spreads flows over both nodes\' backends from its table', async () => {
    const wild = nodes[0].dp.lb.services.get({ address: 0, port: 30081, proto: 6, slot: 0 })!;
    const table = nodes[0].dp.lb.maglev.get(wild.revNatId);
    expect(new Set(table).size).toBe(2);
    const r = await fromOutside('tcp', N1, 30081, 30);
    expect(r.ok).toBe(30);
    expect(Object.keys(r.backends).sort()).toEqual(['be1', 'be2']);
  });

  it('externalTrafficPolicy Local uses only the node\'s own backend and never SNATs', async () => {
    for (const [n, be] of [[N1, 'be1'], [N2, 'be2']] as const) {
      const r = await fromOutside('tcp', n, 30090, 15);
      expect(r.errors).toEqual({});
      expect(r.backends).toEqual({ [be]: 15 });
      expect(r.sources[be]).toEqual({ [CLIENT]: 15 });
      const u = await fromOutside('udp', n, 30055, 10);
      expect(u.backends).toEqual({ [be]: 10 });
    }
  });

  it('externalTrafficPolicy Local without a local backend: node 1 stays silent (dropped and counted), node 2 serves', async () => {
    const before = readDropCounter(nodes[0].dp.metrics, DROP_NO_LOCAL_BACKEND).packets;
    const r = await fromOutside('tcp', N1, 30091, 2, 1200);
    expect(r.errors).toEqual({ TIMEOUT: 2 });
    expect(readDropCounter(nodes[0].dp.metrics, DROP_NO_LOCAL_BACKEND).packets).toBeGreaterThan(before);
    const ok = await fromOutside('tcp', N2, 30091, 5);
    expect(ok.backends).toEqual({ be2: 5 });
  });

  it('a NodePort without any backend is refused at once (ICMP port unreachable) and counted', async () => {
    const before = readDropCounter(nodes[0].dp.metrics, DROP_NO_BACKEND).packets;
    const t0 = Date.now();
    const r = await fromOutside('tcp', N1, 30099, 3);
    expect(r.errors).toEqual({ ECONNREFUSED: 3 });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(readDropCounter(nodes[0].dp.metrics, DROP_NO_BACKEND).packets - before).toBe(3n);
  });

  it('traffic to the node that no NodePort owns passes untouched', async () => {
    const r = await fromOutside('tcp', N1, 30500, 3);
    expect(r.backends).toEqual({ 'node1-own': 3 });
    expect(r.sources['node1-own']).toEqual({ [CLIENT]: 3 });
    // Pod addresses routed through node 1 are not translated either.
    await addRoute(fabric, '10.240.1.0/24', { via: N1 });
    const direct = await fromOutside('tcp', BE1, BACKEND_PORT, 2);
    expect(direct.backends).toEqual({ be1: 2 });
    expect(direct.peers).toEqual({ [`${BE1}:${BACKEND_PORT}`]: 2 });
  });

  it('socket LB: a pod connecting to any node\'s IP:nodePort goes straight to a backend and sees the node address', async () => {
    const ns = podNs(nodes[0], 'client');
    const before = readCounter(nodes[0].dp.metrics, METRIC.sockTranslate).packets;
    for (const target of [N1, N2]) {
      const r = await probe(ns, 'tcp', target, 30080, 30, { cgroup });
      expect(r.errors).toEqual({});
      expect(r.ok).toBe(30);
      expect(Object.keys(r.backends).sort()).toEqual(['be1', 'be2']);
      expect(r.peers).toEqual({ [`${target}:30080`]: 30 });
      // No NodePort NAT on the way: every backend sees the pod itself.
      expect(Object.keys(r.sources.be1)).toEqual([POD_CLIENT]);
      expect(Object.keys(r.sources.be2)).toEqual([POD_CLIENT]);
    }
    expect(readCounter(nodes[0].dp.metrics, METRIC.sockTranslate).packets - before).toBe(60n);
    // Pods get every backend under externalTrafficPolicy Local too (like kube-proxy).
    const local = await probe(ns, 'tcp', N1, 30090, 30, { cgroup });
    expect(Object.keys(local.backends).sort()).toEqual(['be1', 'be2']);
    const udp = await probe(ns, 'udp', N2, 30053, 10, { cgroup });
    expect(udp.ok).toBe(10);
    expect(udp.peers).toEqual({ [`${N2}:30053`]: 10 });
  });

  it('a pod outside the socket-LB cgroup reaches a node IP:nodePort through the pod tc path', async () => {
    const r = await probe(podNs(nodes[0], 'client'), 'tcp', N2, 30080, 20);
    expect(r.errors).toEqual({});
    expect(r.ok).toBe(20);
    expect(r.peers).toEqual({ [`${N2}:30080`]: 20 });
  });

  it('a removed NodePort Service stops being translated on the uplink', async () => {
    const n1 = nodes[0];
    await n1.table.fullSync(SERVICES.filter((s) => s.metadata.name !== 'web'), SLICES);
    const r = await fromOutside('tcp', N1, 30080, 1, 1000);
    expect(r.ok).toBe(0);
    await n1.table.fullSync(SERVICES, SLICES);
    const back = await fromOutside('tcp', N1, 30080, 4);
    expect(back.ok).toBe(4);
  });

  // Last: service sync converges node 1's table to what the API server holds.
  it('service sync programs NodePorts for the InternalIP of every Node the API server lists', async () => {
    let server: TestServer | undefined;
    const informers: { stop(): Promise<void> }[] = [];
    try {
      server = await startTestServer();
      const s = server;
      const post = async (path: string, body: unknown) => {
        const r = await s.request('POST', path, body);
        if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${r.body}`);
      };
      const node = (name: string, ip: string) => ({ metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] } });
      await post('/api/v1/nodes', node('n1', N1));
      await post('/api/v1/nodes', node('n2', N2));
      await post('/api/v1/nodes', node('n3', '10.239.0.9'));
      await post('/api/v1/namespaces', { metadata: { name: 'np' } });
      await post('/api/v1/namespaces/np/services', {
        metadata: { name: 'api-web', namespace: 'np' },
        spec: { type: 'NodePort', clusterIP: '10.96.77.99', ports: [{ name: 'tcp', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30200 }] },
      });
      await post('/apis/discovery.k8s.io/v1/namespaces/np/endpointslices', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', ...slice('api-web', BOTH) });
      const n1 = nodes[0];
      const inf = createInformerFactory(connect(s.kubeconfig), { logger: createLogger({ level: 'silent' }) });
      informers.push(inf);
      const sync = await startServiceSync({ informers: inf, table: n1.table, logger: createLogger({ level: 'silent' }), nodePort: { node: 'n1', nodeIP: N1 } });
      try {
        const addrs = () => n1.dp.lb.services.entries().filter(([k]) => k.slot === 0 && k.port === 30200).map(([k]) => k.address).sort((a, b) => a - b);
        expect(addrs()).toEqual([0, ipv4ToNumber(N1), ipv4ToNumber(N2), ipv4ToNumber('10.239.0.9')]);
        const r = await fromOutside('tcp', N1, 30200, 20);
        expect(r.ok).toBe(20);
        expect(Object.keys(r.backends).sort()).toEqual(['be1', 'be2']);
        // A Node that leaves takes its NodePort frontends with it.
        const del = await s.request('DELETE', '/api/v1/nodes/n3');
        expect(del.status).toBeLessThan(300);
        await waitFor('n3\'s frontend to go', () => !addrs().includes(ipv4ToNumber('10.239.0.9')), 10_000);
        expect(addrs()).toEqual([0, ipv4ToNumber(N1), ipv4ToNumber(N2)]);
        // Services the API server does not hold are gone from node 1 now.
        expect((await fromOutside('tcp', N1, 30080, 1, 800)).ok).toBe(0);
      } finally {
        sync.stop();
      }
    } finally {
      for (const i of informers) await i.stop();
      await server?.close();
    }
  }, 60_000);
});
