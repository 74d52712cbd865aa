// Flow observability benchmark: new-connection rate through a Service with
// the flow consumer (observer + metrics + a filtered gRPC follower, as in the
// agent) attached vs not attached, with trace events on, sampled 1 in N and
// off (the BPF knob, ebf_events_cfg_v1); the consumer's CPU per event; and
// the highest new-flow and raw event rates the agent takes with zero lost
// events. "Not attached" leaves emission on: the kernel ring fills and
// reservations fail (counted as lost).
// Run: npm run bench:flows [-- --quick] (root; builds build/bench/crr if needed).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { connectObserver, InMemoryEndpointDirectory, InMemoryServiceDirectory, startFlows, type FlowsHandle, type ObserverClient } from '../src/agent/flows/index.js';
import type { FlowObserver } from '../src/agent/flows/observer.js';
import { applyTraceSampling } from '../src/agent/flows/sampling.js';
import { numberToIpv4 } from '../src/dataplane/ip.js';
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
  /** The 1-in-N sampling setting measured. */
  sampleN: number;
}

function parseFlowsBenchArgs(argv: string[]): Config {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean', default: false } }, strict: true });
  const quick = values.quick === true;
  return {
    quick,
    repeats: quick ? 4 : 6,
    durationMs: quick ? 1000 : 4000,
    concurrency: 4,
    levels: quick ? [4, 8] : [1, 2, 4, 8, 16],
    burstEvents: quick ? 20_000 : 50_000,
    burstProcs: quick ? [1, 2, 4] : [1, 2, 4, 8],
    pauseMs: quick ? 200 : 1000,
    sampleN: 100,
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
  let flows: FlowsHandle | undefined;
  let follower: ObserverClient | undefined;
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
    // What the agent enriches with: every pod by IP, the services by id.
    const endpoints = new InMemoryEndpointDirectory();
    for (const p of l.net.pods) endpoints.set(p.ip, { namespace: 'bench', pod: p.name, labels: { app: p.name === 'client' ? 'client' : 'crr' }, identity: 0 });
    const services = new InMemoryServiceDirectory();
    for (const [id, rn] of l.dp.lb.revNat.entries()) services.set(id, { namespace: 'bench', name: numberToIpv4(rn.address) === VIP ? 'crr' : 'empty' }, 3);
    /** The agent's flow stack: observer, metrics registry, gRPC server with one follower of drops (a typical `observe -f`). */
    const attach = async (sample: number) => {
      flows = await startFlows({
        dataplane: l.dp, capacity: 16384, endpoints, services, grpcAddress: '127.0.0.1:0', metricsAddress: '127.0.0.1:0',
        traceSampling: { socket: sample, tc: sample, policy: sample },
      });
      follower = connectObserver(flows.server!.address);
      const call = follower.getFlows({ follow: true, include: [{ verdict: ['DROPPED'] }] });
      call.on('data', () => {});
      call.on('error', () => {});
      await quiesce(flows.observer); // drain what earlier "not attached" runs left in the kernel ring
      return flows.observer;
    };
    const detach = async () => {
      follower?.close();
      await flows?.stop();
      flows = undefined;
      follower = undefined;
    };

    // 1. Connection rate by mode, in a rotated order each repeat to cancel drift.
    type Mode = 'off' | 'on' | 'sampled' | 'traceOff';
    const MODES: Mode[] = ['off', 'on', 'sampled', 'traceOff'];
    const sampleOf: Record<Mode, number> = { off: 1, on: 1, sampled: config.sampleN, traceOff: 0 };
    const rates: Record<Mode, number[]> = { off: [], on: [], sampled: [], traceOff: [] };
    const lostOf: Record<Mode, number[]> = { off: [], on: [], sampled: [], traceOff: [] };
    const cpu: Record<Mode, { us: number; sys: number; secs: number; events: number }[]> = { off: [], on: [], sampled: [], traceOff: [] };
    await crr(config.concurrency); // warm-up
    for (let r = 0; r < config.repeats; r++) {
      for (let k = 0; k < MODES.length; k++) {
        const mode = MODES[(k + r) % MODES.length];
        await sleep(config.pauseMs);
        if (mode === 'off') {
          applyTraceSampling(l.dp.eventsConfig, {});
          const c0 = process.cpuUsage();
          const t = performance.now();
          rates.off.push((await crr(config.concurrency)).rate);
          const c = process.cpuUsage(c0);
          cpu.off.push({ us: c.user + c.system, sys: c.system, secs: (performance.now() - t) / 1000, events: 0 });
          continue;
        }
        const o = await attach(sampleOf[mode]);
        const before = snap(o);
        const c0 = process.cpuUsage();
        const t = performance.now();
        const res = await crr(config.concurrency);
        await quiesce(o);
        const c = process.cpuUsage(c0);
        const after = snap(o);
        cpu[mode].push({ us: c.user + c.system, sys: c.system, secs: (performance.now() - t) / 1000, events: after.seen - before.seen });
        lostOf[mode].push(after.lost - before.lost);
        rates[mode].push(res.rate);
        await detach();
      }
    }
    const rate = (m: Mode) => median(rates[m]);
    const off = rate('off');
    const on = rate('on');
    // The bench process's own CPU with nothing to consume (trace events off) is the floor.
    const idleUsPerSec = median(cpu.traceOff.map((x) => x.us / x.secs));
    const usPerEvent = (m: Mode) => median(cpu[m].filter((x) => x.events > 0).map((x) => (x.us - idleUsPerSec * x.secs) / x.events));
    const consumerUs = usPerEvent('on');
    /** The bench process's CPU in % of one core (user+sys, and sys alone) during the runs of a mode. */
    const cpuPct = (m: Mode) => ({
      total: median(cpu[m].map((x) => x.us / x.secs / 1e4)), sys: median(cpu[m].map((x) => x.sys / x.secs / 1e4)),
    });

    // 2. Highest new-connection rate with zero lost events, consumer attached.
    const levels: { concurrency: number; rate: number; flows: number; lost: number; kernel: number; addon: number }[] = [];
    const o = await attach(1);
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
    await detach();

    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    print('');
    const ratio = (m: Mode) => (off > 0 ? rate(m) / off : 0);
    const us = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
    print(`new connections/s through a ClusterIP (socket LB, crr connect/request/response/RST), concurrency ${config.concurrency}, ${config.repeats} runs of ${config.durationMs} ms each, median`);
    print('  mode                                       conn/s   vs not attached   consumer CPU/event   process CPU (sys)   lost   (runs)');
    const row = (label: string, m: Mode, cpuUs?: number) =>
      print(`  ${label.padEnd(40)} ${fmt(rate(m)).padStart(8)}   ${ratio(m).toFixed(3).padStart(15)}   ${(cpuUs === undefined ? '' : `${us(cpuUs)} µs`).padStart(18)}   ${`${cpuPct(m).total.toFixed(1)}% (${cpuPct(m).sys.toFixed(1)}%)`.padStart(17)}   ${String(lostOf[m].reduce((a, b) => a + b, 0)).padStart(4)}   (${rates[m].map(fmt).join(', ')})`);
    row('consumer not attached, traces on', 'off');
    row('consumer attached, traces on (default)', 'on', consumerUs);
    row(`consumer attached, traces 1 in ${config.sampleN}`, 'sampled');
    row('consumer attached, traces off (drops on)', 'traceOff');
    print(`  (consumer CPU/event: the bench process's CPU during the run minus its CPU with traces off, per flow received;`);
    print(`   process CPU: the bench process incl. the consumer, % of one core)`);
    // The conn/s ratios swing by ±15% per run on a shared machine; the consumer's CPU is steadier. With crr
    // keeping every CPU busy, the consumer's share of the machine's CPU is the connection rate it costs.
    const share = (m: Mode) => Math.max(0, cpuPct(m).total - cpuPct('traceOff').total) / cpus().length;
    print(`  consumer's share of the machine's CPU (= connection rate it costs while crr saturates the CPUs): traces on ${share('on').toFixed(1)}%, 1 in ${config.sampleN} ${share('sampled').toFixed(1)}% (target < 5%)`);
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
    print(`baseline: consumer not attached ${fmt(off)} conn/s; attached/not ratio ${(on / off).toFixed(3)} (target > 0.95); consumer ${us(consumerUs)} µs CPU per event, ${share('on').toFixed(1)}% of the machine's CPU`);
    print(`highest zero-loss rates: ${fmt(zeroLossConn)} new connections/s, ${fmt(zeroLossEvents)} events/s (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    print(`RESULT ${JSON.stringify({
      machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', kernel: release() },
      quick: config.quick,
      connRate: {
        consumerOff: Math.round(off), consumerOn: Math.round(on), ratio: Number(ratio('on').toFixed(3)), lostWhileOn: lostOf.on,
        sampled: { n: config.sampleN, rate: Math.round(rate('sampled')), ratio: Number(ratio('sampled').toFixed(3)), lost: lostOf.sampled },
        traceOff: { rate: Math.round(rate('traceOff')), ratio: Number(ratio('traceOff').toFixed(3)), lost: lostOf.traceOff },
        runs: rates,
      },
      consumerCpuUsPerEvent: Number(us(consumerUs)),
      consumerCpuSharePct: { on: Number(share('on').toFixed(2)), sampled: Number(share('sampled').toFixed(2)) },
      processCpuPct: Object.fromEntries(MODES.map((m) => [m, Number(cpuPct(m).total.toFixed(1))])),
      levels, bursts,
      zeroLoss: { connectionsPerSec: Math.round(zeroLossConn), eventsPerSec: zeroLossEvents },
      note: 'consumerOff = no ring-buffer consumer attached, trace events still emitted; sampled/traceOff = ebf_events_cfg_v1 (drops always emitted); consumer = observer + metrics + one filtered gRPC follower',
    })}`);
  } finally {
    follower?.close();
    await flows?.stop();
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
