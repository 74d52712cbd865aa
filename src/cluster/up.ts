// `ebbflow up` / `down` / `status`: a local cluster whose nodes are network
// namespaces. `up` is idempotent: on a running cluster it only (re)starts
// what is missing, which is also how a killed agent or server is brought
// back. Processes run detached with their pids (and argv, to guard against
// pid reuse) kept in <data-dir>/cluster.json.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { connect } from '../client/client.js';
import { resources } from '../client/resources.js';
import { DEFAULT_PIN_ROOT, packageRoot } from '../dataplane/paths.js';
import { removeCgroupParent } from '../kubelet/cgroups.js';
import { buildImageArchives } from '../kubelet/node.js';
import { deleteClusterNetwork, ensureFabric, ensureNodeNetwork, existingNamespaces } from './fabric.js';
import {
  AGENT_FLOWS_PORT, AGENT_METRICS_PORT, ETCD_CLIENT_PORT, FABRIC_APISERVER_PORT, planCluster,
  type ClusterPlan, type NodePlan, type PlanOptions,
} from './plan.js';
import { isOurs, spawnDaemon, stopDaemon } from './processes.js';
import { mountsUnder } from '../kubelet/leftovers.js';

/** kube-system/kube-dns: the tenth address of the service CIDR, as kubeadm picks it. */
export const CLUSTER_DNS_IP = '10.96.0.10';

export interface ClusterState {
  version: 1;
  options: Required<Pick<PlanOptions, 'name' | 'nodes' | 'dataDir' | 'port' | 'datastore'>>;
  createdAt: string;
  pids: { server?: number; etcd?: number; agents: Record<string, number> };
}

export type Progress = (line: string) => void;

export interface UpOptions extends PlanOptions {
  /** Do not run scripts/setup.sh even if something is missing. */
  skipSetup?: boolean;
  /** How long to wait for every node to be Ready (default 180 s). */
  timeoutMs?: number;
  /** Pre-built pause.tar and busybox.tar (`ebbflow images build --out DIR`); default <data-dir>/images, built when missing. */
  imagesDir?: string;
  /** Agents' and server's log level (default warn). */
  logLevel?: string;
  progress?: Progress;
}

export interface UpResult {
  plan: ClusterPlan;
  state: ClusterState;
  /** What this run started (empty when everything was already up). */
  started: string[];
  readyMs: number;
}

export function cliMain(): string {
  return join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
}

export function readState(dataDir: string): ClusterState | undefined {
  const file = join(dataDir, 'cluster.json');
  if (!existsSync(file)) return undefined;
  const s = JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  if (s.version !== 1) throw new Error(`${file}: unknown state version ${String(s.version)}`);
  return s;
}

function writeState(plan: ClusterPlan, state: ClusterState): void {
  mkdirSync(plan.dataDir, { recursive: true });
  writeFileSync(plan.stateFile + '.tmp', JSON.stringify(state, null, 2) + '\n');
  execFileSync('mv', ['-f', plan.stateFile + '.tmp', plan.stateFile]);
}

/** The argv markers that identify each process of this cluster. */
export function serverMarkers(plan: ClusterPlan): string[] {
  return [cliMain(), 'server', plan.serverDir];
}
export function agentMarkers(node: NodePlan): string[] {
  return [cliMain(), 'agent', node.name, node.dir + '/run'];
}
function etcdMarkers(plan: ClusterPlan): string[] {
  return [join(plan.dataDir, 'etcd')];
}

/** Host tools and build outputs `up` needs; the missing ones. */
export function missingRequirements(plan: ClusterPlan): string[] {
  const root = packageRoot();
  const need = ['/usr/bin/containerd', '/usr/bin/runc', '/usr/bin/ctr', '/usr/bin/nsenter', '/usr/sbin/ip', '/bin/busybox',
    join(root, 'build', 'native', 'Release', 'ebbflow_native.node'), join(root, 'build', 'cni', 'ebbflow-cni'),
    join(root, 'build', 'bpf', 'bpf_lxc.o'), join(root, 'build', 'bpf', 'bpf_sock.o'), cliMain()];
  if (plan.datastore === 'etcd') need.push('/usr/bin/etcd');
  return need.filter((p) => !existsSync(p) && !(p === '/usr/sbin/ip' && existsSync('/sbin/ip')) && !(p === '/bin/busybox' && existsSync('/usr/bin/busybox')));
}

/** A listening socket on host loopback, to hand to the server (it runs in the fabric namespace). */
function hostListener(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `127.0.0.1:${port} is already in use (another cluster or API server?); pick one with --port` : `cannot listen on 127.0.0.1:${port}: ${err.message}`)),
    );
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(srv));
  });
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Writes the host's admin kubeconfig (127.0.0.1:port) from the server's in-fabric one. */
function writeHostKubeconfig(plan: ClusterPlan): void {
  const src = parse(readFileSync(join(plan.serverDir, 'kubeconfig'), 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of src.clusters) c.cluster.server = `https://127.0.0.1:${plan.port}`;
  writeFileSync(plan.kubeconfig, stringify(src), { mode: 0o600 });
}

function nodeReady(n: KubeObject | undefined): boolean {
  const conds = (n?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

function mergeOptions(opts: UpOptions, prev: ClusterState | undefined): ClusterState['options'] {
  const want = {
    name: opts.name ?? prev?.options.name ?? 'ebbflow',
    nodes: opts.nodes ?? prev?.options.nodes ?? 1,
    dataDir: opts.dataDir ?? prev?.options.dataDir ?? '/var/lib/ebbflow',
    port: opts.port ?? prev?.options.port ?? 6443,
    datastore: opts.datastore ?? prev?.options.datastore ?? 'sqlite',
  };
  if (prev) {
    for (const k of ['name', 'port', 'datastore'] as const) {
      if (want[k] !== prev.options[k]) throw new Error(`a cluster with --${k} ${prev.options[k]} exists in ${want.dataDir}; run \`ebbflow down\` first to change it`);
    }
    if (want.nodes < prev.options.nodes) throw new Error(`the cluster in ${want.dataDir} has ${prev.options.nodes} nodes; removing nodes is not supported (ebbflow down, then up --nodes ${want.nodes})`);
  }
  return want;
}

/** Brings the cluster up (or completes it); resolves when every node is Ready. */
export async function up(opts: UpOptions = {}): Promise<UpResult> {
  const t0 = performance.now();
  const say: Progress = opts.progress ?? (() => undefined);
  const prev = readState(opts.dataDir ?? '/var/lib/ebbflow');
  const options = mergeOptions(opts, prev);
  const plan = planCluster(options);
  const state: ClusterState = prev ? { ...prev, options } : { version: 1, options, createdAt: new Date().toISOString(), pids: { agents: {} } };
  const started: string[] = [];
  const logLevel = opts.logLevel ?? 'warn';

  const missing = missingRequirements(plan);
  if (missing.length) {
    if (opts.skipSetup) throw new Error(`missing: ${missing.join(', ')} (run scripts/setup.sh)`);
    say(`installing what is missing (${missing.length} items) with scripts/setup.sh`);
    execFileSync('bash', [join(packageRoot(), 'scripts', 'setup.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  mkdirSync(plan.logsDir, { recursive: true });
  writeState(plan, state);

  say(`network: fabric ${plan.fabric.netns} (${plan.fabric.address}/${plan.fabric.prefixLen}) and ${plan.nodes.length} node namespace(s)`);
  await ensureFabric(plan);
  for (const n of plan.nodes) await ensureNodeNetwork(plan, n);

  const imagesDir = opts.imagesDir ?? plan.imagesDir;
  if (!existsSync(join(imagesDir, 'pause.tar')) || !existsSync(join(imagesDir, 'busybox.tar'))) {
    if (opts.imagesDir) throw new Error(`--images-dir ${imagesDir}: pause.tar and busybox.tar expected there (ebbflow images build --out ${imagesDir})`);
    say('images: building the local pause and busybox images');
    await buildImageArchives(imagesDir);
  }

  if (plan.datastore === 'etcd' && !isOurs(state.pids.etcd, etcdMarkers(plan))) {
    say(`datastore: etcd in ${plan.fabric.netns}`);
    const url = `http://${plan.fabric.address}:${ETCD_CLIENT_PORT}`;
    state.pids.etcd = spawnDaemon({
      netns: plan.fabric.netns, logFile: join(plan.logsDir, 'etcd.log'),
      argv: ['/usr/bin/etcd', '--name', plan.name, '--data-dir', join(plan.dataDir, 'etcd'), '--listen-client-urls', url, '--advertise-client-urls', url,
        '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', `${plan.name}=http://127.0.0.1:2380`,
        '--log-level', 'warn'],
    });
    started.push('etcd');
    writeState(plan, state);
  }

  const client = () => connect(plan.kubeconfig);
  if (!isOurs(state.pids.server, serverMarkers(plan))) {
    say(`server: API server, scheduler and controllers in ${plan.fabric.netns}, kubectl at https://127.0.0.1:${plan.port}`);
    // Socket activation: the host-loopback listener is made here and
    // inherited, so kubectl on the host and agents on the fabric reach one server.
    const listener = await hostListener(plan.port);
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    try {
      state.pids.server = spawnDaemon({
        netns: plan.fabric.netns, logFile: join(plan.logsDir, 'server.log'), passFds: [fd],
        argv: [process.execPath, cliMain(), 'server', '--data-dir', plan.serverDir, '--bind', plan.fabric.address, '--port', String(FABRIC_APISERVER_PORT),
          '--listen-fd', '3', '--advertise-address', plan.fabric.address, '--cluster-dns', plan.fabric.address, '--service-cidr', plan.serviceCIDR, '--cluster-cidr', plan.clusterCIDR,
          '--log-level', logLevel,
          ...(plan.datastore === 'etcd' ? ['--datastore', `etcd://${plan.fabric.address}:${ETCD_CLIENT_PORT}`] : [])],
      });
    } finally {
      listener.close();
    }
    started.push('server');
    writeState(plan, state);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!isOurs(state.pids.server, serverMarkers(plan))) throw new Error(`the API server exited while starting; its log (${join(plan.logsDir, 'server.log')}):\n${logTail(join(plan.logsDir, 'server.log'))}`);
      if (existsSync(join(plan.serverDir, 'kubeconfig'))) {
        writeHostKubeconfig(plan);
        const c = client();
        try {
          await c.list(resources.namespaces);
          break;
        } catch {
          // not answering yet
        } finally {
          c.close();
        }
      }
      if (Date.now() > deadline) throw new Error(`the API server did not answer within 60 s; its log:\n${logTail(join(plan.logsDir, 'server.log'))}`);
      await sleep(100);
    }
  } else {
    writeHostKubeconfig(plan);
  }

  const pki = join(plan.serverDir, 'pki');
  for (const n of plan.nodes) {
    if (isOurs(state.pids.agents[n.name], agentMarkers(n))) continue;
    say(`node ${n.name}: agent + kubelet + containerd in ${n.netns} (${n.ip}, pods ${n.podCIDR})`);
    mkdirSync(n.dir, { recursive: true });
    state.pids.agents[n.name] = spawnDaemon({
      netns: n.netns, logFile: n.logFile,
      argv: [process.execPath, cliMain(), 'agent', '--node', n.name, '--kubeconfig', join(plan.serverDir, 'kubeconfig'), '--pod-cidr', n.podCIDR,
        '--state-dir', join(n.dir, 'agent'), '--cni-socket', join(n.dir, 'run', 'cni.sock'), '--kubelet', '--run-dir', join(n.dir, 'run'),
        '--node-ip', n.ip, '--kubelet-cert', join(pki, 'server.crt'), '--kubelet-key', join(pki, 'server.key'), '--kubelet-client-ca', join(pki, 'ca.crt'),
        '--metrics-address', `0.0.0.0:${AGENT_METRICS_PORT}`, '--flows-address', `0.0.0.0:${AGENT_FLOWS_PORT}`, '--auto-node-routes',
        '--nodeport-device', n.uplink, '--cluster-dns', CLUSTER_DNS_IP,
        '--images', `${join(imagesDir, 'pause.tar')},${join(imagesDir, 'busybox.tar')}`, '--log-level', logLevel],
    });
    started.push(n.name);
    writeState(plan, state);
  }

  say(`waiting for ${plan.nodes.length} node(s) to be Ready`);
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  let lastReady = -1;
  for (;;) {
    for (const n of plan.nodes) {
      if (!isOurs(state.pids.agents[n.name], agentMarkers(n))) throw new Error(`the agent of ${n.name} exited while starting; its log (${n.logFile}):\n${logTail(n.logFile)}`);
    }
    const c = client();
    let ready: string[] = [];
    try {
      const nodes = (await c.list<KubeObject>(resources.nodes)).items;
      ready = plan.nodes.filter((p) => nodeReady(nodes.find((n) => n.metadata.name === p.name))).map((p) => p.name);
    } catch {
      // the server may be restarting; try again
    } finally {
      c.close();
    }
    if (ready.length !== lastReady) {
      lastReady = ready.length;
      if (ready.length < plan.nodes.length) say(`  ${ready.length}/${plan.nodes.length} nodes Ready`);
    }
    if (ready.length === plan.nodes.length) break;
    if (Date.now() > deadline) {
      const late = plan.nodes.filter((p) => !ready.includes(p.name));
      throw new Error(`nodes not Ready after ${Math.round((opts.timeoutMs ?? 180_000) / 1000)} s: ${late.map((p) => p.name).join(', ')}; last log lines of ${late[0]!.name} (${late[0]!.logFile}):\n${logTail(late[0]!.logFile)}`);
    }
    await sleep(200);
  }
  return { plan, state, started, readyMs: performance.now() - t0 };
}

export interface DownResult {
  stopped: string[];
  removed: string[];
  /** What could not be removed (still in use); empty on a clean down. */
  left: string[];
}

/** Stops every process of the cluster and removes its namespaces, pins, cgroups and files. */
export async function down(opts: { dataDir?: string; progress?: Progress } = {}): Promise<DownResult> {
  const say: Progress = opts.progress ?? (() => undefined);
  const dataDir = opts.dataDir ?? '/var/lib/ebbflow';
  const state = readState(dataDir);
  if (!state) throw new Error(`no cluster found in ${dataDir} (no cluster.json); nothing to do`);
  const plan = planCluster(state.options);
  const res: DownResult = { stopped: [], removed: [], left: [] };
  // Agents first, with SIGUSR2: each removes its pod sandboxes (CNI DEL
  // through its own CNI server) before stopping its kubelet and containerd.
  await Promise.all(plan.nodes.map(async (n) => {
    const pid = state.pids.agents[n.name];
    if (pid && isOurs(pid, agentMarkers(n))) {
      say(`stopping ${n.name} (removing its pods)`);
      const killed = await stopDaemon(pid, agentMarkers(n), 'SIGUSR2', 60_000);
      res.stopped.push(killed ? `${n.name} (killed)` : n.name);
    }
  }));
  if (state.pids.server && isOurs(state.pids.server, serverMarkers(plan))) {
    say('stopping the server');
    await stopDaemon(state.pids.server, serverMarkers(plan), 'SIGTERM', 30_000);
    res.stopped.push('server');
  }
  if (state.pids.etcd && isOurs(state.pids.etcd, etcdMarkers(plan))) {
    await stopDaemon(state.pids.etcd, etcdMarkers(plan), 'SIGTERM', 30_000);
    res.stopped.push('etcd');
  }
  // Anything a killed agent left behind: a containerd we started for a node.
  for (const n of plan.nodes) {
    const pidFile = join(n.dir, 'run', 'containerd', 'containerd.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const cfg = join(n.dir, 'run', 'containerd', 'config.toml');
    if (isOurs(pid, ['/usr/bin/containerd', cfg])) {
      await stopDaemon(pid, ['/usr/bin/containerd', cfg], 'SIGTERM', 10_000);
      res.stopped.push(`containerd of ${n.name}`);
    }
  }
  say('removing namespaces, pins, cgroups and files');
  for (const ns of await existingNamespaces(plan)) res.removed.push(`netns ${ns}`);
  await deleteClusterNetwork(plan);
  for (const n of plan.nodes) {
    const pins = join(DEFAULT_PIN_ROOT, n.name);
    if (existsSync(pins)) {
      rmSync(pins, { recursive: true, force: true });
      res.removed.push(`pins ${pins}`);
    }
    res.left.push(...removeCgroupParent(n.cgroupParent).map((p) => `cgroup ${p}`));
  }
  // Mounts a runtime could leave below the data dir are unmounted before the
  // directory is removed (never delete files through a live mount).
  for (const mp of mountsUnder(dataDir)) {
    try {
      execFileSync('umount', [mp], { stdio: 'ignore' });
    } catch {
      res.left.push(`mount ${mp}`);
    }
  }
  if (res.left.some((l) => l.startsWith('mount '))) return res;
  if (existsSync(dataDir)) {
    for (const e of readdirSync(dataDir)) rmSync(join(dataDir, e), { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    res.removed.push(`dir ${dataDir}`);
  }
  return res;
}

export interface StatusReport {
  plan: ClusterPlan;
  components: { name: string; pid?: number; running: boolean; where: string }[];
  nodes: { name: string; ready: boolean; ip: string; podCIDR: string }[];
  pods?: { total: number; running: number };
  apiError?: string;
}

/** What runs, and what the API server says about nodes and pods. */
export async function status(opts: { dataDir?: string } = {}): Promise<StatusReport | undefined> {
  const state = readState(opts.dataDir ?? '/var/lib/ebbflow');
  if (!state) return undefined;
  const plan = planCluster(state.options);
  const components = [
    { name: 'server', pid: state.pids.server, running: isOurs(state.pids.server, serverMarkers(plan)), where: plan.fabric.netns },
    ...(plan.datastore === 'etcd' ? [{ name: 'etcd', pid: state.pids.etcd, running: isOurs(state.pids.etcd, etcdMarkers(plan)), where: plan.fabric.netns }] : []),
    ...plan.nodes.map((n) => ({ name: `agent ${n.name}`, pid: state.pids.agents[n.name], running: isOurs(state.pids.agents[n.name], agentMarkers(n)), where: n.netns })),
  ];
  const report: StatusReport = { plan, components, nodes: plan.nodes.map((n) => ({ name: n.name, ready: false, ip: n.ip, podCIDR: n.podCIDR })) };
  if (existsSync(plan.kubeconfig)) {
    const c = connect(plan.kubeconfig);
    try {
      const nodes = (await c.list<KubeObject>(resources.nodes)).items;
      for (const r of report.nodes) r.ready = nodeReady(nodes.find((n) => n.metadata.name === r.name));
      const pods = (await c.list<KubeObject>(resources.pods)).items;
      report.pods = { total: pods.length, running: pods.filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running').length };
    } catch (err) {
      report.apiError = (err as Error).message;
    } finally {
      c.close();
    }
  }
  return report;
}
