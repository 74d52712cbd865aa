// A load-balancing lab: a node namespace with a client pod and backend pods,
// the eBPF dataplane loaded with pins under its own bpffs dir, tc programs
// on every pod veth, socket LB on its own cgroup and a probe server in each
// backend. Used by `ebbflow demo lb` and the LB integration tests;
// teardown() removes everything it made.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataplane, type Dataplane } from '../dataplane/loader.js';
import { probeScript, type ProbeResult } from './probes.js';
import { ServiceTable } from '../dataplane/service-table.js';
import type { EndpointSliceShape, ServiceShape } from '../dataplane/lb-model.js';
import {
  CGROUP2_ROOT, cleanupStale, createCgroup, createPodNetwork, netnsPath, removeCgroup, spawnInNetns,
  type NetnsProcess, type PodNetwork,
} from '../netns/index.js';

export const BACKENDS = ['be1', 'be2', 'be3'] as const;
export const BACKEND_PORT = 8080;

export type ClientResult = ProbeResult;

export interface ClientOptions {
  /** Pod to run in; default "client". */
  from?: string;
  /** Per-attempt timeout (tcp/udp modes). */
  timeoutMs?: number;
}

export interface LbLab {
  net: PodNetwork;
  dp: Dataplane;
  table: ServiceTable;
  cgroup: string;
  pinRoot: string;
  ip(pod: string): string;
  /** Runs the probe client in a pod (default "client"); socketLb puts it in the LB cgroup. */
  client(mode: 'tcp' | 'udp' | 'udp-connected', host: string, port: number, count: number, socketLb: boolean, opts?: ClientOptions): Promise<ClientResult>;
  hold(host: string, port: number, ms: number, socketLb: boolean, opts?: ClientOptions): Promise<{ proc: NetnsProcess; result: Promise<ClientResult> }>;
  teardown(): Promise<void>;
}

export function service(name: string, vip: string, extra: Partial<ServiceShape['spec']> = {}, annotations?: Record<string, string>): ServiceShape {
  return {
    metadata: { name, namespace: 'default', annotations },
    spec: {
      clusterIP: vip,
      ports: [{ name: 'tcp', port: 80, protocol: 'TCP' }, { name: 'udp', port: 53, protocol: 'UDP' }],
      ...extra,
    },
  };
}

export function slice(svc: string, endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[]): EndpointSliceShape {
  return {
    metadata: { name: `${svc}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
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

export interface LbLabOptions {
  /** Namespace prefix; namespaces are <prefix>-node, <prefix>-client, <prefix>-<backend>. */
  prefix: string;
  backends?: readonly string[];
  /** First three octets of the pod addresses, default 10.200.0. */
  podNet?: string;
  /** bpffs directory for the lab's pins; default /sys/fs/bpf/ebbflow/lab-<prefix>-<random>. */
  pinRoot?: string;
  /** false: load no dataplane in this process (another process drives it). */
  dataplane?: boolean;
}

/** Builds the lab; on any failure removes what it made before rethrowing. */
export async function createLbLab(opts: LbLabOptions): Promise<LbLab> {
  const { prefix } = opts;
  const backends = opts.backends ?? BACKENDS;
  const podNet = opts.podNet ?? '10.200.0';
  await cleanupStale(prefix);
  const id = randomBytes(3).toString('hex');
  const pinRoot = opts.pinRoot ?? `/sys/fs/bpf/ebbflow/lab-${prefix}-${id}`;
  const cgroup = join(CGROUP2_ROOT, `ebbflow-lab-${prefix}-${id}`);
  const pods = [{ name: 'client', ip: `${podNet}.10` }, ...backends.map((b, i) => ({ name: b, ip: `${podNet}.${11 + i}` }))];
  const net = await createPodNetwork({ prefix, pods });
  const servers: NetnsProcess[] = [];
  let dp: Dataplane | undefined;
  const teardown = async () => {
    for (const s of servers) s.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.wait()));
    if (dp) dp.destroy();
    // Unpinning a cgroup link detaches it, also when another process made it.
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
    await net.destroy();
    await removeCgroup(cgroup);
  };
  try {
    await createCgroup(cgroup);
    if (opts.dataplane !== false) {
      dp = await loadDataplane({ node: 'node', pinRoot });
      for (const p of net.pods) await dp.attachEndpoint({ netns: netnsPath(net.nodeNs), ifname: p.hostIf });
      dp.attachSocketLb(cgroup);
    }
    for (const b of backends) {
      const pod = net.pods.find((p) => p.name === b)!;
      servers.push(spawnInNetns(pod.ns, process.execPath, [probeScript('server'), b, String(BACKEND_PORT)]));
    }
    await Promise.all(servers.map((s) => waitFor(s, 'ready', 10_000)));
  } catch (err) {
    await teardown();
    throw err;
  }
  const table = dp ? ServiceTable.restore(dp.lb) : undefined;
  const nsOf = (pod = 'client') => {
    const p = net.pods.find((x) => x.name === pod);
    if (!p) throw new Error(`no pod ${pod} in this lab`);
    return p.ns;
  };
  const runClient = (args: string[], socketLb: boolean, from?: string) =>
    spawnInNetns(nsOf(from), process.execPath, [probeScript('client'), ...args], socketLb ? { cgroup } : {});
  const parse = async (p: NetnsProcess): Promise<ClientResult> => {
    const st = await p.wait();
    if (st.code !== 0) throw new Error(`client failed (${st.code}): ${st.stderr}`);
    return JSON.parse(st.stdout.trim().split('\n').pop()!) as ClientResult;
  };
  return {
    net,
    get dp(): Dataplane {
      if (!dp) throw new Error('this lab runs without an in-process dataplane');
      return dp;
    },
    get table(): ServiceTable {
      if (!table) throw new Error('this lab runs without an in-process dataplane');
      return table;
    },
    cgroup,
    pinRoot,
    ip: (pod) => net.pods.find((p) => p.name === pod)!.ip,
    client: (mode, host, port, count, socketLb, o = {}) =>
      parse(runClient([mode, host, String(port), String(count), ...(o.timeoutMs ? [String(o.timeoutMs)] : [])], socketLb, o.from)),
    async hold(host, port, ms, socketLb, o = {}) {
      const proc = runClient(['hold', host, String(port), String(ms)], socketLb, o.from);
      await waitFor(proc, 'connected', 5000);
      return { proc, result: parse(proc) };
    },
    teardown,
  };
}
