// Pod network setup benchmark: CNI ADD and DEL latency of ebbflow-cni (the
// plugin process forwarding to an in-process cni-server that does IPAM and
// netlink) against Debian's reference ptp + host-local plugins, measured in
// the same run, both exec'd the same way (`ip netns exec <node ns> <plugin>`
// with the CNI env and config on stdin) into pod namespaces created for the
// run. Rounds alternate the two so machine noise hits both alike. The agent's
// own share (requests sent in-process, no plugin exec) is printed too.
// Then pod startup latency through the whole node: the API server, the
// agent, containerd 1.6 in a node namespace and our kubelet (in this
// process, as test/helpers/kubelet-node.ts wires them): after one warm-up
// pod, 30 busybox pods are created back to back (burst), then 30 more at 4
// pods/s (paced); each pod's create -> first-seen Running comes from a pods
// list polled every 100 ms. nodeName is set, so scheduling is not in the
// figure (bench:sched measures it). Also in --quick.
// `--quick` uses fewer pods for the CNI part and finishes in about a minute;
// `--startup-only` runs only the pod startup part.
// Last line: RESULT {json}.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { callAgent } from '../cni/agent-client.js';
import type { Pod } from '../src/api/core.js';
import { startAgent } from '../src/agent/agent.js';
import { defaultShimPath } from '../src/agent/cni-install.js';
import { startCniServer } from '../src/agent/cni-server.js';
import { start as startApiServer } from '../src/apiserver/server.js';
import { connect } from '../src/client/client.js';
import { resources } from '../src/client/resources.js';
import { packageRoot } from '../src/dataplane/paths.js';
import { removeCgroupParent } from '../src/kubelet/cgroups.js';
import { BUSYBOX_IMAGE } from '../src/kubelet/images.js';
import { startNodeRuntime, type NodeRuntimeHandle } from '../src/kubelet/node.js';
import { createLogger } from '../src/log/logger.js';
import { CGROUP2_ROOT, cleanupStale, createCgroup, createNetns, deleteNetns, netnsPath, sysctl } from '../src/netns/index.js';
import { mountsUnder, shimsOf } from '../src/kubelet/leftovers.js';

const quick = process.argv.includes('--quick');
const PODS = quick ? 40 : 200;
const ROUND = 10;
const PREFIX = 'ebfb-pods';
const PTP = '/usr/lib/cni/ptp';
const STARTUP_PODS = 30;
const STARTUP_TARGET_P99_MS = 2000;

interface Sample { add: number[]; del: number[] }

function exec(argv: string[], env: Record<string, string>, stdin: string): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 }));
    child.stdin.end(stdin);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
};

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

interface StartupResult { ms: number[]; coldMs: number; burstMs: number; cpu: { ours: number; machine: number }; pacedMs: number[] }

/** The paced run creates one pod every this many ms (4 pods/s): per-pod latency without a queue behind it. */
const PACE_MS = 250;

/** CPU seconds the whole machine has spent (all CPUs, non-idle) since boot. */
function machineCpuSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait.
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

/**
 * A real node in namespaces (API server, agent, containerd, kubelet), one
 * warm-up pod (cold snapshot, reported apart), then `count` pods created back
 * to back; returns each pod's create -> first-seen Running. Everything made
 * is removed in reverse, also after a failure.
 */
async function podStartup(count: number): Promise<StartupResult> {
  const logger = createLogger({ level: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'ebf-bench-podstart-'));
  const nodeNs = `${PREFIX}-kn`;
  const cgroupName = `ebbflow-bench-pods-${process.pid}`;
  const pinRoot = `/sys/fs/bpf/ebbflow/bench-pods-${process.pid}`;
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const api = await startApiServer({ dataDir: join(dir, 'api'), bind: '127.0.0.1', port: 0, logger });
    cleanups.push(() => api.stop());
    await createNetns(nodeNs);
    cleanups.push(() => deleteNetns(nodeNs));
    await sysctl(nodeNs, 'net.ipv4.ip_forward', 1);
    const podCgroup = `${CGROUP2_ROOT}/${cgroupName}`;
    await createCgroup(podCgroup);
    cleanups.push(() => removeCgroupParent(`/${cgroupName}`));
    cleanups.push(() => rmSync(pinRoot, { recursive: true, force: true }));
    const cniBinDir = join(dir, 'cni-bin');
    const cniConfDir = join(dir, 'cni-conf');
    const podCIDR = '10.242.0.0/24';
    const agent = await startAgent({
      node: 'benchpods', kubeconfig: api.kubeconfigPath, podCIDR, stateDir: join(dir, 'agent'), pinRoot,
      cniSocket: join(dir, 'cni.sock'), hostNetns: netnsPath(nodeNs), podCgroup, cniBinDir, cniConfDir,
      flowsAddress: null, metricsAddress: null, logger,
    });
    cleanups.push(() => agent.stop());
    let runtime: NodeRuntimeHandle | undefined;
    let address = '';
    cleanups.push(() => {
      for (const m of mountsUnder(dir)) execFileSync('umount', ['-l', m]);
    });
    cleanups.push(() => {
      if (address) for (const pid of shimsOf(address)) process.kill(pid, 'SIGKILL');
    });
    cleanups.push(() => runtime?.stop({ removePods: true }));
    runtime = await startNodeRuntime({
      node: 'benchpods', kubeconfig: api.kubeconfigPath, podCIDR, nodeIP: '127.0.0.1', runDir: join(dir, 'node'),
      netns: netnsPath(nodeNs), cniBinDir, cniConfDir, cgroupParent: `/${cgroupName}`, logger,
    });
    address = runtime.containerd.address;
    const client = connect(api.kubeconfigPath);
    cleanups.push(() => client.close());
    const manifest = (name: string): Pod => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
      spec: { nodeName: 'benchpods', terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '3600'] }] },
    });
    /** Polls the pods list every 100 ms until every name was seen Running; returns first-seen times. */
    const watchRunning = async (names: string[], deadlineMs: number) => {
      const seen = new Map<string, number>();
      const wanted = new Set(names);
      while (seen.size < names.length) {
        if (performance.now() > deadlineMs) throw new Error(`pods not Running in time: ${names.filter((x) => !seen.has(x)).join(' ')}`);
        const list = await client.list<Pod>(resources.pods, 'default');
        const t = performance.now();
        for (const p of list.items) if (p.status?.phase === 'Running' && wanted.has(p.metadata.name!) && !seen.has(p.metadata.name!)) seen.set(p.metadata.name!, t);
        await new Promise((r) => setTimeout(r, 100));
      }
      return seen;
    };
    let t0 = performance.now();
    await client.create(resources.pods, 'default', manifest('warmup'));
    const coldMs = (await watchRunning(['warmup'], t0 + 120_000)).get('warmup')! - t0;
    const names = Array.from({ length: count }, (_, i) => `p${i}`);
    const created = new Map<string, number>();
    t0 = performance.now();
    const cpu0 = { ours: process.cpuUsage(), machine: machineCpuSeconds() };
    const poll = watchRunning(names, t0 + 180_000);
    for (const name of names) {
      created.set(name, performance.now());
      await client.create(resources.pods, 'default', manifest(name));
    }
    const seen = await poll;
    const burstMs = Math.max(...seen.values()) - t0;
    const used = process.cpuUsage(cpu0.ours);
    const cpu = { ours: (used.user + used.system) / 1e6, machine: machineCpuSeconds() - cpu0.machine };
    // Paced: the same number of pods again (the burst's keep running), one every PACE_MS.
    const paced = Array.from({ length: count }, (_, i) => `q${i}`);
    const pacedCreated = new Map<string, number>();
    const pacedPoll = watchRunning(paced, performance.now() + 180_000);
    for (const name of paced) {
      const due = performance.now() + PACE_MS;
      pacedCreated.set(name, performance.now());
      await client.create(resources.pods, 'default', manifest(name));
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    }
    const pacedSeen = await pacedPoll;
    return { ms: names.map((x) => seen.get(x)! - created.get(x)!), coldMs, burstMs, cpu, pacedMs: paced.map((x) => pacedSeen.get(x)! - pacedCreated.get(x)!) };
  } finally {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        console.error(`bench:pods cleanup step failed: ${(err as Error).message}`);
      }
    }
  }
}

const round2 = (x: number) => +x.toFixed(2);

/** Prints the pod startup table; returns its RESULT part. */
function printStartup(startup: StartupResult): Record<string, unknown> {
  const sp50 = pct(startup.ms, 0.5);
  const sp99 = pct(startup.ms, 0.99);
  console.log('');
  console.log(`pod startup (API server + agent + containerd 1.6 + kubelet; ${STARTUP_PODS} busybox pods created back to back (burst), then ${STARTUP_PODS} more one every ${PACE_MS} ms (paced); nodeName set; Running polled every 100 ms)`);
  console.log(`${'create -> Running'.padEnd(20)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)} ${'target p99'.padStart(11)}`);
  console.log(`${'  burst'.padEnd(20)} ${sp50.toFixed(0).padStart(8)} ${sp99.toFixed(0).padStart(8)} ${Math.max(...startup.ms).toFixed(0).padStart(8)} ${`< ${STARTUP_TARGET_P99_MS}`.padStart(11)}  ${sp99 < STARTUP_TARGET_P99_MS ? 'met' : 'MISSED'}`);
  const q50 = pct(startup.pacedMs, 0.5);
  const q99 = pct(startup.pacedMs, 0.99);
  console.log(`${`  paced ${1000 / PACE_MS}/s`.padEnd(20)} ${q50.toFixed(0).padStart(8)} ${q99.toFixed(0).padStart(8)} ${Math.max(...startup.pacedMs).toFixed(0).padStart(8)} ${`< ${STARTUP_TARGET_P99_MS}`.padStart(11)}  ${q99 < STARTUP_TARGET_P99_MS ? 'met' : 'MISSED'}`);
  console.log(`(ms; burst: all ${STARTUP_PODS} Running ${startup.burstMs.toFixed(0)} ms after the first create; the warm-up pod before them, first use of the image snapshot, took ${startup.coldMs.toFixed(0)} ms)`);
  console.log(`(CPU during the burst: ${startup.cpu.machine.toFixed(1)} CPU-s on the machine, ${startup.cpu.ours.toFixed(1)} of them in this process: API server + agent + kubelet; the rest is containerd, shims, runc, CNI)`);
  return {
    pods: STARTUP_PODS, p50: round2(sp50), p99: round2(sp99), max: round2(Math.max(...startup.ms)), allRunningMs: round2(startup.burstMs),
    warmupMs: round2(startup.coldMs), cpuSeconds: { machine: round2(startup.cpu.machine), apiserverAgentKubelet: round2(startup.cpu.ours) },
    paced: { podsPerSecond: 1000 / PACE_MS, p50: round2(q50), p99: round2(q99), max: round2(Math.max(...startup.pacedMs)), met: q99 < STARTUP_TARGET_P99_MS },
    targetP99Ms: STARTUP_TARGET_P99_MS, met: sp99 < STARTUP_TARGET_P99_MS, pollMs: 100,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:pods needs root (namespaces, netlink)');
  const pluginJs = join(packageRoot(), 'dist', 'cni', 'main.js');
  if (!existsSync(pluginJs)) throw new Error(`${pluginJs} missing: run npm run build:ts`);
  if (!existsSync(PTP)) throw new Error(`${PTP} missing: install containernetworking-plugins`);
  await cleanupStale(PREFIX);
  if (process.argv.includes('--startup-only')) {
    const machine = { nproc: cpus().length, kernel: release(), cpu: cpuModel(), node: process.version };
    console.log(`machine: ${machine.nproc} CPUs, ${machine.cpu}, kernel ${machine.kernel}, node ${machine.node}`);
    console.log(`RESULT ${JSON.stringify({ bench: 'pods', mode: 'startup-only', machine, podStartup: printStartup(await podStartup(STARTUP_PODS)) })}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ebf-bench-pods-'));
  const nodeOurs = `${PREFIX}-n1`;
  const nodeBase = `${PREFIX}-n2`;
  const made: string[] = [];
  const socketPath = join(dir, 'cni.sock');
  let server: Awaited<ReturnType<typeof startCniServer>> | undefined;
  try {
    for (const ns of [nodeOurs, nodeBase]) {
      await createNetns(ns);
      made.push(ns);
      await sysctl(ns, 'net.ipv4.ip_forward', 1);
    }
    server = await startCniServer({ socketPath, hostNetns: netnsPath(nodeOurs), podCIDR: '10.240.0.0/22', stateDir: join(dir, 'state') });
    const pods: string[] = [];
    for (let i = 0; i < PODS * 3; i++) {
      const ns = `${PREFIX}-p${i}`;
      await createNetns(ns);
      made.push(ns);
      pods.push(ns);
    }
    const ours = { cniVersion: '1.0.0', name: 'ebbflow', type: 'ebbflow-cni', agentSocket: socketPath };
    const base = {
      cniVersion: '1.0.0', name: 'ptpbench', type: 'ptp', mtu: 1500,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.241.0.0/22' }]], dataDir: join(dir, 'host-local') },
    };
    // What runtimes exec: the native shim (installed by default), the
    // baseline, and the node plugin for reference.
    const shim = defaultShimPath();
    if (!existsSync(shim)) throw new Error(`${shim} missing: run scripts/setup.sh`);
    const kinds = [
      { name: 'ebbflow-cni', node: nodeOurs, argv: [shim], conf: ours, s: { add: [], del: [] } as Sample },
      { name: 'ptp+host-local', node: nodeBase, argv: [PTP], conf: base, s: { add: [], del: [] } as Sample },
      { name: 'ebbflow-cni (node plugin)', node: nodeOurs, argv: [process.execPath, pluginJs], conf: ours, s: { add: [], del: [] } as Sample },
    ];
    const runOne = async (k: (typeof kinds)[number], podNs: string) => {
      const id = randomBytes(32).toString('hex');
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_PATH: '/usr/lib/cni', CNI_CONTAINERID: id, CNI_NETNS: netnsPath(podNs), CNI_IFNAME: 'eth0',
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${podNs}`,
      };
      const argv = ['ip', 'netns', 'exec', k.node, ...k.argv];
      const add = await exec(argv, { ...env, CNI_COMMAND: 'ADD' }, JSON.stringify(k.conf));
      if (add.code !== 0) throw new Error(`${k.name} ADD failed: ${add.out}`);
      const del = await exec(argv, { ...env, CNI_COMMAND: 'DEL' }, JSON.stringify({ ...k.conf, prevResult: JSON.parse(add.out) }));
      if (del.code !== 0) throw new Error(`${k.name} DEL failed: ${del.out}`);
      k.s.add.push(add.ms);
      k.s.del.push(del.ms);
    };
    // Warm-up (page cache, first exec), not counted.
    for (const k of kinds) {
      await runOne(k, pods[0]!);
      k.s.add.length = 0;
      k.s.del.length = 0;
    }
    for (let r = 0; r < PODS / ROUND; r++) {
      const order = r % 2 === 0 ? kinds : [...kinds].reverse();
      for (const k of order) {
        const offset = kinds.indexOf(k) * PODS;
        for (let i = 0; i < ROUND; i++) await runOne(k, pods[offset + r * ROUND + i]!);
      }
    }
    // The agent's share: the same requests sent from this process, no plugin exec.
    const agentOnly: Sample = { add: [], del: [] };
    for (let i = 0; i < PODS; i++) {
      const req = { command: 'ADD' as const, containerId: randomBytes(32).toString('hex'), netns: netnsPath(pods[i]!), ifname: 'eth0', args: {}, network: 'ebbflow' };
      let t0 = performance.now();
      const add = await callAgent(socketPath, req, 10_000);
      agentOnly.add.push(performance.now() - t0);
      if (add.error) throw new Error(`agent ADD failed: ${add.error.msg}`);
      t0 = performance.now();
      await callAgent(socketPath, { ...req, command: 'DEL' }, 10_000);
      agentOnly.del.push(performance.now() - t0);
    }
    const spawnFloor: number[] = [];
    for (let i = 0; i < (quick ? 10 : 30); i++) {
      spawnFloor.push((await exec(['ip', 'netns', 'exec', nodeOurs, process.execPath, '-e', '0'], { PATH: process.env.PATH ?? '/usr/bin:/bin' }, '')).ms);
    }

    const [a, b, viaNode] = kinds as [typeof kinds[0], typeof kinds[0], typeof kinds[0]];
    const rows = (['add', 'del'] as const).map((op) => ({
      op: op.toUpperCase(),
      ebbflow: { p50: pct(a.s[op], 0.5), p99: pct(a.s[op], 0.99) },
      baseline: { p50: pct(b.s[op], 0.5), p99: pct(b.s[op], 0.99) },
    }));
    const machine = { nproc: cpus().length, kernel: release(), cpu: cpuModel(), node: process.version };
    console.log(`machine: ${machine.nproc} CPUs, ${machine.cpu}, kernel ${machine.kernel}, node ${machine.node}`);
    console.log(`pods per plugin: ${PODS} (sequential ADD then DEL each; rounds of ${ROUND} alternate the order)`);
    console.log(`floor: 'ip netns exec <ns> node -e 0' p50 ${pct(spawnFloor, 0.5).toFixed(1)} ms (what the node plugin pays per call; the shim is C, ptp is Go)`);
    const head = `${'op'.padEnd(4)} ${'ebbflow p50'.padStart(12)} ${'p99'.padStart(8)} ${'ptp+hl p50'.padStart(12)} ${'p99'.padStart(8)} ${'p50 ratio'.padStart(10)} ${'p99 ratio'.padStart(10)}`;
    console.log(head);
    console.log('-'.repeat(head.length));
    for (const r of rows) {
      console.log(`${r.op.padEnd(4)} ${r.ebbflow.p50.toFixed(1).padStart(12)} ${r.ebbflow.p99.toFixed(1).padStart(8)} ${r.baseline.p50.toFixed(1).padStart(12)} ${r.baseline.p99.toFixed(1).padStart(8)} ${(r.ebbflow.p50 / r.baseline.p50).toFixed(2).padStart(10)} ${(r.ebbflow.p99 / r.baseline.p99).toFixed(2).padStart(10)}`);
    }
    for (const op of ['add', 'del'] as const) {
      console.log(`${op.toUpperCase().padEnd(4)} ${pct(agentOnly[op], 0.5).toFixed(1).padStart(12)} ${pct(agentOnly[op], 0.99).toFixed(1).padStart(8)} ${'-'.padStart(12)} ${'-'.padStart(8)}   (agent only: request from this process, no plugin exec)`);
    }
    for (const op of ['add', 'del'] as const) {
      console.log(`${op.toUpperCase().padEnd(4)} ${pct(viaNode.s[op], 0.5).toFixed(1).padStart(12)} ${pct(viaNode.s[op], 0.99).toFixed(1).padStart(8)} ${'-'.padStart(12)} ${'-'.padStart(8)}   (the node plugin instead of the native shim)`);
    }
    console.log('(ms; ratio = ebbflow / ptp+host-local, below 1 is faster)');
    // The CNI part is done: free its namespaces before the whole-node run.
    await server.stop().catch(() => undefined);
    server = undefined;
    for (const ns of made.splice(0).reverse()) await deleteNetns(ns).catch(() => undefined);
    const startup = await podStartup(STARTUP_PODS);
    console.log(`RESULT ${JSON.stringify({
      bench: 'pods', mode: quick ? 'quick' : 'full', machine, pods: PODS,
      floorMs: round2(pct(spawnFloor, 0.5)),
      podStartup: printStartup(startup),
      nodePlugin: { add: { p50: round2(pct(viaNode.s.add, 0.5)) }, del: { p50: round2(pct(viaNode.s.del, 0.5)) } },
      agentOnly: { add: { p50: round2(pct(agentOnly.add, 0.5)), p99: round2(pct(agentOnly.add, 0.99)) }, del: { p50: round2(pct(agentOnly.del, 0.5)), p99: round2(pct(agentOnly.del, 0.99)) } },
      rows: rows.map((r) => ({
        op: r.op,
        ebbflow: { p50: round2(r.ebbflow.p50), p99: round2(r.ebbflow.p99) },
        baseline: { name: 'ptp+host-local', p50: round2(r.baseline.p50), p99: round2(r.baseline.p99) },
        ratioP50: round2(r.ebbflow.p50 / r.baseline.p50), ratioP99: round2(r.ebbflow.p99 / r.baseline.p99),
      })),
    })}`);
  } finally {
    await server?.stop().catch(() => undefined);
    for (const ns of made.reverse()) await deleteNetns(ns).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:pods failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
