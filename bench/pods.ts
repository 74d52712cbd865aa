// Pod network setup benchmark: CNI ADD and DEL latency of ebbflow-cni (the
// plugin process forwarding to an in-process cni-server that does IPAM and
// netlink) against Debian's reference ptp + host-local plugins, measured in
// the same run, both exec'd the same way (`ip netns exec <node ns> <plugin>`
// with the CNI env and config on stdin) into pod namespaces created for the
// run. Rounds alternate the two so machine noise hits both alike. The agent's
// own share (requests sent in-process, no plugin exec) is printed too.
// `--quick` uses fewer pods and finishes well under a minute.
// Last line: RESULT {json}.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { callAgent } from '../cni/agent-client.js';
import { defaultShimPath } from '../src/agent/cni-install.js';
import { startCniServer } from '../src/agent/cni-server.js';
import { packageRoot } from '../src/dataplane/paths.js';
import { cleanupStale, createNetns, deleteNetns, netnsPath, sysctl } from '../src/netns/index.js';

const quick = process.argv.includes('--quick');
const PODS = quick ? 40 : 200;
const ROUND = 10;
const PREFIX = 'ebfb-pods';
const PTP = '/usr/lib/cni/ptp';

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

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:pods needs root (namespaces, netlink)');
  const pluginJs = join(packageRoot(), 'dist', 'cni', 'main.js');
  if (!existsSync(pluginJs)) throw new Error(`${pluginJs} missing: run npm run build:ts`);
  if (!existsSync(PTP)) throw new Error(`${PTP} missing: install containernetworking-plugins`);
  await cleanupStale(PREFIX);
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
    const round2 = (x: number) => +x.toFixed(2);
    console.log(`RESULT ${JSON.stringify({
      bench: 'pods', mode: quick ? 'quick' : 'full', machine, pods: PODS,
      floorMs: round2(pct(spawnFloor, 0.5)),
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
