// A node namespace with a client pod and three backend pods, the eBPF
// dataplane loaded with pins under a test-only bpffs dir, tc programs on
// every pod veth and socket LB on a test-only cgroup. Used by the LB
// integration tests; teardown() removes everything it made.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import { ServiceTable } from '../../src/dataplane/service-table.js';
import type { EndpointSliceShape, ServiceShape } from '../../src/dataplane/lb-model.js';
import {
  CGROUP2_ROOT, cleanupStale, createCgroup, createPodNetwork, netnsPath, removeCgroup, spawnInNetns,
  type NetnsProcess, type PodNetwork,
} from '../../src/netns/index.js';

export const HELPERS = fileURLToPath(new URL('.', import.meta.url));
export const BACKENDS = ['be1', 'be2', 'be3'] as const;
export const BACKEND_PORT = 8080;

export interface ClientResult {
  backends: Record<string, number>;
  peers: Record<string, number>;
  errors: Record<string, number>;
  ok: number;
}

export interface LbFixture {
  net: PodNetwork;
  dp: Dataplane;
  table: ServiceTable;
  cgroup: string;
  pinRoot: string;
  ip(pod: string): string;
  /** Runs the test client in the client pod; socketLb puts it in the LB cgroup. */
  client(mode: 'tcp' | 'udp' | 'udp-connected', host: string, port: number, count: number, socketLb: boolean): Promise<ClientResult>;
  hold(host: string, port: number, ms: number, socketLb: boolean): Promise<{ proc: NetnsProcess; result: Promise<ClientResult> }>;
  teardown(): Promise<void>;
}

export function service(name: string, vip: string, extra: Partial<ServiceShape['spec']> = {}, annotations?: Record<string, string>): ServiceShape {
  return {
    metadata: { name, namespace: 'test', annotations },
    spec: {
      clusterIP: vip,
      ports: [{ name: 'tcp', port: 80, protocol: 'TCP' }, { name: 'udp', port: 53, protocol: 'UDP' }],
      ...extra,
    },
  };
}

export function slice(svc: string, endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[]): EndpointSliceShape {
  return {
    metadata: { name: `${svc}-x`, namespace: 'test', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
    ports: [{ name: 'tcp', port: BACKEND_PORT, protocol: 'TCP' }, { name: 'udp', port: BACKEND_PORT, protocol: 'UDP' }],
  };
}

async function waitFor(proc: NetnsProcess, text: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!proc.stdout.includes(text)) {
    if (Date.now() > end) throw new Error(`process ${proc.pid} did not print "${text}": ${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function createLbFixture(prefix: string): Promise<LbFixture> {
  await cleanupStale(prefix);
  const id = randomBytes(3).toString('hex');
  const pinRoot = `/sys/fs/bpf/ebbflow/test-${prefix}-${id}`;
  const cgroup = join(CGROUP2_ROOT, `ebbflow-test-${prefix}-${id}`);
  const pods = [{ name: 'client', ip: '10.200.0.10' }, ...BACKENDS.map((b, i) => ({ name: b, ip: `10.200.0.${11 + i}` }))];
  const net = await createPodNetwork({ prefix, pods });
  const servers: NetnsProcess[] = [];
  let dp: Dataplane | undefined;
  const teardown = async () => {
    for (const s of servers) s.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.wait()));
    if (dp) dp.destroy();
    await net.destroy();
    await removeCgroup(cgroup);
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
  };
  try {
    await createCgroup(cgroup);
    dp = await loadDataplane({ node: 'node', pinRoot });
    for (const p of net.pods) await dp.attachEndpoint({ netns: netnsPath(net.nodeNs), ifname: p.hostIf });
    dp.attachSocketLb(cgroup);
    for (const b of BACKENDS) {
      const pod = net.pods.find((p) => p.name === b)!;
      servers.push(spawnInNetns(pod.ns, process.execPath, [join(HELPERS, 'lb-server.mjs'), b, String(BACKEND_PORT)]));
    }
    await Promise.all(servers.map((s) => waitFor(s, 'ready', 10_000)));
  } catch (err) {
    await teardown();
    throw err;
  }
  const clientNs = net.pods.find((p) => p.name === 'client')!.ns;
  const runClient = (args: string[], socketLb: boolean) =>
    spawnInNetns(clientNs, process.execPath, [join(HELPERS, 'lb-client.mjs'), ...args], socketLb ? { cgroup } : {});
  const parse = async (p: NetnsProcess): Promise<ClientResult> => {
    const st = await p.wait();
    if (st.code !== 0) throw new Error(`client failed (${st.code}): ${st.stderr}`);
    return JSON.parse(st.stdout.trim().split('\n').pop()!) as ClientResult;
  };
  return {
    net,
    dp: dp!,
    table: ServiceTable.restore(dp!.lb),
    cgroup,
    pinRoot,
    ip: (pod) => net.pods.find((p) => p.name === pod)!.ip,
    client: (mode, host, port, count, socketLb) => parse(runClient([mode, host, String(port), String(count)], socketLb)),
    async hold(host, port, ms, socketLb) {
      const proc = runClient(['hold', host, String(port), String(ms)], socketLb);
      await waitFor(proc, 'connected', 5000);
      return { proc, result: parse(proc) };
    },
    teardown,
  };
}
