// Flow observability benchmark: new-connection rate through a Service with
// the flow consumer attached vs not attached (the BPF programs emit events in
// both cases: there is no BPF knob to turn emission off, so "off" means the
// kernel ring fills and reservations fail), and the highest new-flow and
// raw event rates the agent takes with zero lost events.
// Run: npm run bench:flows [-- --quick] (root; builds build/bench/crr if needed).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startFlowObserver, type FlowObserver } from '../src/agent/flows/observer.js';
import { createLbLab, type LbLab } from '../src/demo/lab.js';
import { packageRoot } from '../src/dataplane/paths.js';
import type { EndpointSliceShape, ServiceShape } from '../src/dataplane/lb-model.js';
import { spawnInNetns, type NetnsProcess } from '../src/netns/index.js';
import { runCrrClient, startCrrServer } from './lib/crr.js';

const execFileAsync = promisify(execFile);
const VIP = '10.96.0.50';
const EMPTY = '10.96.0.51';
const CRR_PORT = 9090;

interface Config {
  quick: boolean;
  repeats: number;
  durationMs: number;
  concurrency: number;
  levels: number[];
  burstEvents: number;
  burstProcs: number[];
  pauseMs: number;
}

function parseFlowsBenchArgs(argv: string[]): Config {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean', default: false } }, strict: true });
  const quick = values.quick === true;
  return {
    quick,
    repeats: quick ? 2 : 4,
    durationMs: quick ? 1500 : 4000,
    concurrency: 4,
    levels: quick ? [1, 4, 8] : [1, 2, 4, 8, 16],
    burstEvents: quick ? 20_000 : 50_000,
    burstProcs: quick ? [1, 2, 4] : [1, 2, 4, 8],
    pauseMs: quick ? 300 : 1000,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function serviceOf(name: string, vip: string): ServiceShape {
  return { metadata: { name, namespace: 'bench' }, spec: { clusterIP: vip, ports: [{ name: 'tcp', port: 80, protocol: 'TCP' }, { name: 'udp', port: 53, protocol: 'UDP' }] } };
}
function sliceOf(name: string, ips: string[]): EndpointSliceShape {
  return {
    metadata: { name: `${name}-x`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
    ports: [{ name: 'tcp', port: CRR_PORT, protocol: 'TCP' }, { name: 'udp', port: CRR_PORT, protocol: 'UDP' }],
  };
}

// Refused UDP sends to a backend-less Service: one drop event each, no wire traffic.
const BURST = `
const s = require('node:dgram').createSocket('udp4');
const [host, port, count] = process.argv.slice(1);
const n = Number(count), b = Buffer.from('x');
let sent = 0, done = 0;
(function more() {
  for (const end = Math.min(n, sent + 500); sent < end; sent++) s.send(b, Number(port), host, () => { if (++done === n) s.close(); });
  if (sent < n) setImmediate(more);
})();
`;

/** Events the observer saw or lost (kernel + addon), for deltas around a run. */
interface Snapshot { seen: number; lost: number; kernel: number; addon: number }
const snap = (o: FlowObserver): Snapshot => {
  const l = o.lost();
  return { seen: o.ring.written, lost: l.kernel + l.addon + l.decode, kernel: l.kernel, addon: l.addon };
};

/** Waits until the observer stops receiving (the kernel ring is drained). */
async function quiesce(o: FlowObserver): Promise<void> {
  let last = -1;
  while (o.ring.written !== last) {
    last = o.ring.written;
    await sleep(150);
  }
}

async function main(): Promise<void> {
  const config = parseFlowsBenchArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) {
    console.error('bench:flows needs root (network namespaces, BPF)');
    process.exit(1);
  }
  const repoRoot = packageRoot();
  const crrPath = join(repoRoot, 'build', 'bench', 'crr');
  await execFileAsync('bash', [join(repoRoot, 'scripts', 'build-bench-tools.sh')]);
  if (!existsSync(crrPath)) throw new Error(`missing ${crrPath}`);
  const t0 = Date.now();
  const print = (s: string) => console.log(s);
  print(`machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown'}, kernel ${release()}, node ${process.version}`);

  let lab: LbLab | undefined;
  const servers: NetnsProcess[] = [];
  let observer: FlowObserver | undefined;
  try {
    lab = await createLbLab({ prefix: 'ebfb-fl' });
    const l = lab;
    const backends = l.net.pods.filter((p) => p.name !== 'client');
    for (const b of backends) servers.push(await startCrrServer({ ns: b.ns, crrPath, port: CRR_PORT, threads: 2 }));
    await l.table.fullSync([serviceOf('crr', VIP), serviceOf('empty', EMPTY)], [sliceOf('crr', backends.map((b) => b.ip)), sliceOf('empty', [])]);
    const clientNs = l.net.pods.find((p) => p.name === 'client')!.ns;
    const crr = (concurrency: number) => runCrrClient({
      ns: clientNs, crrPath, targets: [`${VIP}:80`], count: 2_000_000, durationMs: config.durationMs, concurrency, cgroup: l.cgroup,
    });
    const attach = async () => {
      observer = await startFlowObserver({ dataplane: l.dp, capacity: 16384 });
      await quiesce(observer); // drain what earlier "off" runs left in the kernel ring
      return observer;
    };
    const detach = () => {
      observer?.stop();
      observer = undefined;
    };

    // 1. Connection rate, consumer attached vs not, alternating (ABBA) to cancel drift.
    await crr(config.concurrency); // warm-up
    const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
    const onLoss: number[] = [];
    for (let r = 0; r < config.repeats; r++) {
      for (const mode of (r % 2 === 0 ? ['off', 'on'] : ['on', 'off']) as ('on' | 'off')[]) {
        await sleep(config.pauseMs);
        if (mode === 'on') {
          const o = await attach();
          const before = snap(o);
          const res = await crr(config.concurrency);
          await quiesce(o);
          const after = snap(o);
          onLoss.push(after.lost - before.lost);
          rates.on.push(res.rate);
          detach();
        } else {
          rates.off.push((await crr(config.concurrency)).rate);
        }
      }
    }
    const on = median(rates.on);
    const off = median(rates.off);

    // 2. Highest new-connection rate with zero lost events, consumer attached.
    const levels: { concurrency: number; rate: number; flows: number; lost: number; kernel: number; addon: number }[] = [];
    const o = await attach();
    for (const c of config.levels) {
      await sleep(config.pauseMs);
      const before = snap(o);
      const res = await crr(c);
      await quiesce(o);
      const after = snap(o);
      levels.push({ concurrency: c, rate: res.rate, flows: after.seen - before.seen, lost: after.lost - before.lost, kernel: after.kernel - before.kernel, addon: after.addon - before.addon });
    }
    // 3. Raw event rate: parallel refused-send bursts.
    const bursts: { procs: number; eventsPerSec: number; events: number; lost: number; kernel: number; addon: number }[] = [];
    for (const p of config.burstProcs) {
      await sleep(config.pauseMs);
      const before = snap(o);
      const start = performance.now();
      const procs = Array.from({ length: p }, () => spawnInNetns(clientNs, process.execPath, ['-e', BURST, EMPTY, '53', String(config.burstEvents)], { cgroup: l.cgroup }));
      await Promise.all(procs.map((x) => x.wait()));
      const secs = (performance.now() - start) / 1000;
      await quiesce(o);
      const after = snap(o);
      const events = after.seen - before.seen + after.lost - before.lost;
      bursts.push({ procs: p, eventsPerSec: Math.round(events / secs), events, lost: after.lost - before.lost, kernel: after.kernel - before.kernel, addon: after.addon - before.addon });
    }
    detach();

    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    print('');
    print('new connections/s through a ClusterIP (socket LB, crr connect/request/response/RST), concurrency ' + config.concurrency);
    print(`  consumer not attached   ${fmt(off).padStart(10)}   (runs: ${rates.off.map(fmt).join(', ')})`);
    print(`  consumer attached       ${fmt(on).padStart(10)}   (runs: ${rates.on.map(fmt).join(', ')})  ratio ${(on / off).toFixed(3)}  lost ${onLoss.join(', ')}`);
    print('');
    print('consumer attached, by client concurrency:');
    print('  concurrency   conn/s       flows      lost  (kernel, addon)');
    for (const x of levels) print(`  ${String(x.concurrency).padStart(11)}   ${fmt(x.rate).padStart(8)}   ${fmt(x.flows).padStart(9)}   ${fmt(x.lost).padStart(7)}  (${x.kernel}, ${x.addon})`);
    print('refused-send bursts (one drop event each), consumer attached:');
    print('  processes   events/s     events      lost  (kernel, addon)');
    for (const b of bursts) print(`  ${String(b.procs).padStart(9)}   ${fmt(b.eventsPerSec).padStart(8)}   ${fmt(b.events).padStart(8)}   ${fmt(b.lost).padStart(7)}  (${b.kernel}, ${b.addon})`);
    const zeroLossConn = Math.max(0, ...levels.filter((x) => x.lost === 0).map((x) => x.rate));
    const zeroLossEvents = Math.max(0, ...bursts.filter((x) => x.lost === 0).map((x) => x.eventsPerSec));
    print('');
    print(`baseline: consumer not attached ${fmt(off)} conn/s; attached/not ratio ${(on / off).toFixed(3)}`);
    print(`highest zero-loss rates: ${fmt(zeroLossConn)} new connections/s, ${fmt(zeroLossEvents)} events/s (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    print(`RESULT ${JSON.stringify({
      machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', kernel: release() },
      quick: config.quick,
      connRate: { consumerOff: Math.round(off), consumerOn: Math.round(on), ratio: Number((on / off).toFixed(3)), lostWhileOn: onLoss },
      levels, bursts,
      zeroLoss: { connectionsPerSec: Math.round(zeroLossConn), eventsPerSec: zeroLossEvents },
      note: 'off = no ring-buffer consumer attached; the BPF programs still emit events (no knob to disable emission)',
    })}`);
  } finally {
    observer?.stop();
    for (const s of servers) s.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.wait()));
    await lab?.teardown();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
}
