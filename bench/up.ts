// Local cluster benchmark: `ebbflow up` to all nodes Ready (1 and 3 nodes,
// pre-built images, clean state each run), memory of the server, agents and
// containerds idle and with a Deployment of sleep pods, pod startup latency
// of that scale-up, and new connections per second from node 1 to httpd pods
// on nodes 2 and 3 through a ClusterIP Service against the pod IPs directly
// (the baseline, measured in the same run, alternating rounds).
// Run: npm run bench:up [-- --quick] (root). Its cluster is "benchup" in a
// temp dir on a free port, so it never meets another cluster; it is removed
// at the end, also on failure or SIGINT. Last line: RESULT {json}.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { connect, type Client } from '../src/client/client.js';
import { resources } from '../src/client/resources.js';
import { buildImages, clusterDown, clusterUp, freePort, type ClusterTarget, type UpRun } from './lib/cluster-cli.js';
import { findProcesses, memOf, memOfGroup, MiB, type GroupSample, type MemSample } from './lib/proc-mem.js';
import { percentile, rampDeployment, sleepDeployment, type RampResult } from './lib/pod-ramp.js';
import { median } from './lib/report.js';
import {
  httpGet, makeClientCgroup, removeClientCgroup, serviceVsDirect, waitServiceReady, webPod, webService, WEB_PORT,
  type RateConfig, type RateRun,
} from './lib/svc-rate.js';
import { textTable } from './lib/table.js';

const execFileAsync = promisify(execFile);
const NAME = 'benchup';
const NS = 'default';
const node = (i: number) => `${NAME}-node${i}`;
const CGROUP2 = '/sys/fs/cgroup/unified';
/** Targets from the issue; k3s's figure is its documented agent footprint, printed for reference only. */
const TARGET = { up3Ms: 20_000, agentMiB: 150, serverMiB: 200, k3sAgentMiB: 275 };

interface Config {
  quick: boolean;
  /** Node counts of the timed `up` runs, in order, each from a clean state; the last cluster stays for the rest. */
  upPlan: number[];
  pods: number;
  /** Pin the sleep pods to this node (quick); undefined spreads them. */
  podsNode?: string;
  idleMs: number;
  settleMs: number;
  rampTimeoutMs: number;
  rate: RateConfig;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean', default: false } }, strict: true });
  const quick = values.quick === true;
  return quick
    ? { quick, upPlan: [1, 3], pods: 20, podsNode: node(1), idleMs: 5000, settleMs: 3000, rampTimeoutMs: 60_000,
      rate: { pairs: 2, durationMs: 1000, maxConnections: 50_000, concurrency: 4, warmupConnections: 100, pauseMs: 300 } }
    : { quick, upPlan: [1, 3, 1, 3], pods: 100, idleMs: 5000, settleMs: 5000, rampTimeoutMs: 240_000,
      rate: { pairs: 4, durationMs: 3000, maxConnections: 200_000, concurrency: 4, warmupConnections: 200, pauseMs: 500 } };
}

function machine() {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const memMiB = Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024);
  // The machine may be shared: the 1-minute load average at the start says how busy it was.
  return { nproc: cpus().length, cpu, kernel: release(), node: process.version, memMiB, loadavg1: Number(loadavg()[0]!.toFixed(2)) };
}

interface Snapshot {
  label: string;
  server?: MemSample;
  agents: Record<string, MemSample | undefined>;
  containerd: Record<string, MemSample | undefined>;
  shims: Record<string, GroupSample>;
}

function snapshot(label: string, dataDir: string, nodes: number): Snapshot {
  const state = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as { pids: { server?: number; agents: Record<string, number> } };
  const s: Snapshot = { label, server: state.pids.server ? memOf(state.pids.server) : undefined, agents: {}, containerd: {}, shims: {} };
  for (let i = 1; i <= nodes; i++) {
    const n = node(i);
    const run = join(dataDir, 'nodes', n, 'run', 'containerd');
    s.agents[n] = state.pids.agents[n] ? memOf(state.pids.agents[n]!) : undefined;
    const pidFile = join(run, 'containerd.pid');
    s.containerd[n] = existsSync(pidFile) ? memOf(Number(readFileSync(pidFile, 'utf8').trim())) : undefined;
    s.shims[n] = memOfGroup(findProcesses('containerd-shim-runc-v2', ['-address', join(run, 'containerd.sock')]));
  }
  return s;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const r1 = (x: number) => Math.round(x * 10) / 10;

function upTable(runs: UpRun[], plan: number[], quick: boolean): { text: string; json: Record<string, unknown> } {
  const rows: string[][] = [];
  const json: Record<string, unknown> = {};
  for (const n of [1, 3]) {
    const mine = runs.filter((r) => r.nodes === n);
    const target = n === 3 ? TARGET.up3Ms : undefined;
    if (mine.length === 0) {
      rows.push([`${n}`, '-', '-', '-', target ? `< ${target / 1000} s` : '-', '-', plan.includes(n) ? 'failed' : `not measured${quick ? ' in --quick' : ''}`]);
      continue;
    }
    const med = median(mine.map((r) => r.wallMs));
    const rep = median(mine.map((r) => r.reportedMs ?? Number.NaN));
    const verdict = target === undefined ? '' : med < target ? 'ok' : 'OVER TARGET';
    rows.push([`${n}`, mine.map((r) => f1(r.wallMs / 1000)).join(' / '), f1(med / 1000), f1(rep / 1000), target ? `< ${target / 1000} s` : '-',
      target ? f2(med / target) : '-', verdict]);
    json[`nodes${n}`] = { runsMs: mine.map((r) => Math.round(r.wallMs)), medianMs: Math.round(med), reportedMedianMs: Math.round(rep), targetMs: target ?? null };
  }
  return { text: textTable(['nodes', 'runs s', 'median s', "up's own s", 'target', 'vs target', 'verdict'], rows), json };
}

function memTable(idle: Snapshot, busy: Snapshot, nodes: number, pods: number, perNode: Record<string, number>): { text: string; json: Record<string, unknown> } {
  const rows: string[][] = [];
  const json: Record<string, unknown> = {};
  const row = (what: string, where: string, a: MemSample | undefined, b: MemSample | undefined, target: number | undefined) => {
    const v = b ? MiB(b.rssKiB) : Number.NaN;
    rows.push([what, where, where === '-' ? String(pods) : String(perNode[where] ?? 0), f1(a ? MiB(a.rssKiB) : Number.NaN), f1(v), f1(b ? MiB(b.hwmKiB) : Number.NaN),
      b ? `${f0(MiB(b.anonKiB))} / ${f0(MiB(b.fileKiB))}` : '-', f1(b ? MiB(b.pssKiB) : Number.NaN), target ? `< ${target}` : '-',
      target ? (v < target ? 'ok' : 'OVER TARGET') : '']);
    json[`${what}${where === '-' ? '' : ':' + where}`] = {
      idleRssMiB: a ? r1(MiB(a.rssKiB)) : null, rssMiB: b ? r1(MiB(b.rssKiB)) : null, hwmMiB: b ? r1(MiB(b.hwmKiB)) : null,
      anonMiB: b ? r1(MiB(b.anonKiB)) : null, fileMiB: b ? r1(MiB(b.fileKiB)) : null, pssMiB: b ? r1(MiB(b.pssKiB)) : null, targetMiB: target ?? null,
    };
  };
  row('server', '-', idle.server, busy.server, TARGET.serverMiB);
  for (let i = 1; i <= nodes; i++) row('agent', node(i), idle.agents[node(i)], busy.agents[node(i)], TARGET.agentMiB);
  for (let i = 1; i <= nodes; i++) row('containerd', node(i), idle.containerd[node(i)], busy.containerd[node(i)], undefined);
  for (let i = 1; i <= nodes; i++) {
    const a = idle.shims[node(i)]!;
    const b = busy.shims[node(i)]!;
    rows.push(['shims', node(i), String(b.count), f1(MiB(a.rssKiB)), f1(MiB(b.rssKiB)), '-', '-', f1(MiB(b.pssKiB)), '-', 'sum over containerd-shim-runc-v2 (one per pod)']);
    json[`shims:${node(i)}`] = { count: b.count, rssMiB: r1(MiB(b.rssKiB)), pssMiB: r1(MiB(b.pssKiB)) };
  }
  const agentMax = Math.max(...Object.values(busy.agents).map((m) => (m ? MiB(m.rssKiB) : 0)));
  rows.push(['k3s agent', 'reference', '-', '-', `~${TARGET.k3sAgentMiB}`, '-', '-', '-', '-', `documented by k3s, not measured; our largest agent ${f2(agentMax / TARGET.k3sAgentMiB)}x`]);
  const header = ['process', 'node', 'pods', 'idle MiB', 'with pods MiB', 'peak MiB', 'anon / file', 'PSS MiB', 'target', 'verdict'];
  return { text: textTable(header, rows, 2), json };
}

function rateTable(runs: RateRun[], serviceTargets: string[], directTargets: string[]): { text: string; json: Record<string, unknown> } {
  const by = (m: RateRun['mode']) => runs.filter((r) => r.mode === m).map((r) => r.res);
  const stat = (m: RateRun['mode']) => {
    const rs = by(m);
    return {
      rate: Math.round(median(rs.map((r) => r.rate))), connectP50: median(rs.map((r) => r.connect_p50_us)), crrP50: median(rs.map((r) => r.crr_p50_us)),
      crrP99: median(rs.map((r) => r.crr_p99_us)), errors: rs.reduce((a, r) => a + r.errors, 0), rates: rs.map((r) => Math.round(r.rate)),
      // % of one core during the measured runs, per watched process (median over rounds).
      cpuPct: Object.fromEntries(Object.keys(runs.find((r) => r.mode === m)?.cpuMs ?? {}).map((k) => [k, Math.round(median(runs.filter((r) => r.mode === m).map((r) => r.cpuMs[k]! / r.res.seconds / 10)))])),
    };
  };
  const d = stat('direct');
  const s = stat('service');
  const cpu = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}%`).join(' ');
  const rows = [
    ['direct (baseline)', directTargets.join(','), f0(d.rate), '1.00', f0(d.connectP50), f0(d.crrP50), f0(d.crrP99), String(d.errors), cpu(d.cpuPct), `rounds ${d.rates.join('/')}`],
    ['ClusterIP Service', serviceTargets.join(','), f0(s.rate), f2(s.rate / d.rate), f0(s.connectP50), f0(s.crrP50), f0(s.crrP99), String(s.errors), cpu(s.cpuPct),
      `rounds ${s.rates.join('/')}; crr p50 ${f2(s.crrP50 / d.crrP50)}x direct`],
  ];
  const header = ['path', 'target', 'conn/s', 'vs direct', 'connect p50 us', 'crr p50 us', 'crr p99 us', 'errors', 'CPU % of a core', 'note'];
  return {
    text: textTable(header, rows, 2),
    json: { direct: { ...d, targets: directTargets }, service: { ...s, targets: serviceTargets }, ratioRate: Number((s.rate / d.rate).toFixed(3)), ratioCrrP50: Number((s.crrP50 / d.crrP50).toFixed(3)) },
  };
}

async function main(): Promise<void> {
  const cfg = parseConfig(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench:up needs root (network namespaces, cgroups, containerd)');
  const t0 = performance.now();
  const say = (s: string) => console.log(s);
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const crr = join(repoRoot, 'build', 'bench', 'crr');
  if (!existsSync(cli)) throw new Error(`${cli} missing: npm run build`);
  await execFileAsync('bash', [join(repoRoot, 'scripts', 'build-bench-tools.sh')]);
  const m = machine();
  say(`# bench:up on ${m.nproc} CPUs, ${m.cpu}, ${m.memMiB} MiB, kernel ${m.kernel}, node ${m.node}, load average ${m.loadavg1} at start${cfg.quick ? ' (quick)' : ''}`);

  const tmp = mkdtempSync(join(tmpdir(), 'ebf-bench-up-'));
  const target: ClusterTarget = { cli, name: NAME, port: await freePort(), imagesDir: join(tmp, 'images') };
  const clientCgroup = join(CGROUP2, `ebbflow-${node(1)}`, 'benchup-crr');
  let live: string | undefined;
  let client: Client | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= (async () => {
    client?.close();
    try {
      removeClientCgroup(clientCgroup);
    } catch (err) {
      console.error(`bench:up: could not remove ${clientCgroup}: ${(err as Error).message}`);
    }
    if (live) await clusterDown(target, live).catch((err: unknown) => console.error(`bench:up: ${(err as Error).message}`));
    rmSync(tmp, { recursive: true, force: true });
  })());
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`bench:up: ${sig}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await buildImages(cli, target.imagesDir);
    // 1. up to Ready, each from a clean state.
    const upRuns: UpRun[] = [];
    const downMs: { nodes: number; pods: number; ms: number }[] = [];
    let k = 0;
    for (const [idx, nodes] of cfg.upPlan.entries()) {
      if (live) {
        const ms = await clusterDown(target, live);
        if (ms !== null) downMs.push({ nodes: cfg.upPlan[idx - 1]!, pods: 0, ms });
        live = undefined;
      }
      const dataDir = join(tmp, `cluster${k++}`);
      live = dataDir;
      const r = await clusterUp(target, dataDir, nodes);
      upRuns.push(r);
      say(`#   up --nodes ${nodes}: ${f1(r.wallMs / 1000)} s to all Ready (up reports ${r.reportedMs === null ? '?' : f1(r.reportedMs / 1000)} s)`);
    }
    const dataDir = live!;
    const nodes = cfg.upPlan[cfg.upPlan.length - 1]!;
    client = connect(join(dataDir, 'kubeconfig'));

    // 2. memory idle, then with the sleep pods; their startup latency.
    await new Promise((r) => setTimeout(r, cfg.idleMs));
    const idle = snapshot('idle', dataDir, nodes);
    await client.create(resources.deployments, NS, sleepDeployment('benchsleep', NS, cfg.podsNode));
    say(`#   scaling Deployment benchsleep to ${cfg.pods}${cfg.podsNode ? ` (on ${cfg.podsNode})` : ''} ...`);
    const ramp: RampResult = await rampDeployment(client, NS, 'benchsleep', cfg.pods, cfg.rampTimeoutMs);
    say(`#   ${cfg.pods} pods Running after ${f1(ramp.allRunningMs / 1000)} s (${Object.entries(ramp.perNode).map(([n, c]) => `${n}: ${c}`).join(', ')})`);
    await new Promise((r) => setTimeout(r, cfg.settleMs));
    const busy = snapshot('pods', dataDir, nodes);

    // 3. Service vs direct from node 1 to httpd pods on nodes 2 and 3 (same node when there is only one).
    const backendNodes = nodes >= 3 ? [node(2), node(3)] : [node(1)];
    for (const [i, n] of backendNodes.entries()) await client.create(resources.pods, NS, webPod(`benchweb${i + 1}`, NS, n));
    await client.create(resources.services, NS, webService(NS));
    const podIps: string[] = [];
    for (let i = 1; i <= backendNodes.length; i++) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const p = await client.get(resources.pods, NS, `benchweb${i}`);
        const ip = (p.status as { podIP?: string } | undefined)?.podIP;
        if (ip) {
          podIps.push(ip);
          break;
        }
        if (Date.now() > deadline) throw new Error(`pod benchweb${i} got no IP within 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const vip = await waitServiceReady(client, NS, podIps, 60_000);
    makeClientCgroup(clientCgroup);
    const place = { netns: `ebbflow-${node(1)}`, cgroup: clientCgroup };
    for (const url of [`http://${vip}/`, ...podIps.map((ip) => `http://${ip}:${WEB_PORT}/`)]) {
      const body = (await httpGet(place, url)).trim();
      if (body !== 'ok') throw new Error(`GET ${url} from ${node(1)} answered ${JSON.stringify(body)}, expected "ok"`);
    }
    // Outside the cgroup the ClusterIP is not translated (the node has no route to it): proof the Service figures are the socket LB's.
    const outside = await httpGet({ netns: place.netns }, `http://${vip}/`).then(() => 'answered (unexpected)', (err: Error) => `fails (${/Network is unreachable|No route|timed out|refused/i.exec(err.message)?.[0] ?? 'error'})`);
    say(`#   ${backendNodes.join(' + ')} serve; from ${node(1)}: ${vip}:80 and the pod IPs answer inside the cgroup; ClusterIP outside it ${outside}`);
    const serviceTargets = [`${vip}:80`];
    const directTargets = podIps.map((ip) => `${ip}:${WEB_PORT}`);
    // CPU of the cluster's own processes during each run: what the Service path costs beyond the kernel.
    const st = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as { pids: { server: number; agents: Record<string, number> } };
    const watch: Record<string, number> = { server: st.pids.server };
    for (let i = 1; i <= nodes; i++) watch[`agent${i}`] = st.pids.agents[node(i)]!;
    const rateRuns = await serviceVsDirect(crr, place, serviceTargets, directTargets, cfg.rate, watch, say);
    removeClientCgroup(clientCgroup);

    client.close();
    client = undefined;
    const finalDown = await clusterDown(target, dataDir);
    live = undefined;
    if (finalDown !== null) downMs.push({ nodes, pods: cfg.pods + backendNodes.length, ms: finalDown });

    // Report.
    const ut = upTable(upRuns, cfg.upPlan, cfg.quick);
    const mt = memTable(idle, busy, nodes, cfg.pods, ramp.perNode);
    const rt = rateTable(rateRuns, serviceTargets, directTargets);
    const lat = { p50: percentile(ramp.latencyMs, 0.5), p99: percentile(ramp.latencyMs, 0.99), max: Math.max(...ramp.latencyMs) };
    const api = { p50: percentile(ramp.apiLatencyS, 0.5), p99: percentile(ramp.apiLatencyS, 0.99) };
    say('');
    say(`## 1. ebbflow up until every node is Ready (images pre-built, clean state each run; ${cfg.quick ? '1 run' : '2 runs'} per size)`);
    say(ut.text);
    say(`down: ${downMs.map((d) => `${d.nodes} node(s)${d.pods ? ` with ${d.pods} pods` : ''} ${f1(d.ms / 1000)} s`).join('; ')}`);
    say('');
    say(`## 2. Memory (VmRSS; peak = VmHWM; anon / file = RssAnon / RssFile+Shmem; PSS shares pages among sharers): idle = Ready + ${cfg.idleMs / 1000} s, then ${cfg.pods} sleep pods Running + ${cfg.settleMs / 1000} s`);
    say(mt.text);
    say('');
    say(`## 2b. Pod startup, Deployment scaled 0 -> ${cfg.pods} (${Object.entries(ramp.perNode).map(([n, c]) => `${n}: ${c}`).join(', ')}); pods listed every 200 ms`);
    say(textTable(['pods', 'first seen -> Running p50 ms', 'p99 ms', 'max ms', 'scale -> all Running s', 'API timestamps p50 / p99 s', 'note'], [[
      String(cfg.pods), f0(lat.p50), f0(lat.p99), f0(lat.max), f1(ramp.allRunningMs / 1000), `${f1(api.p50)} / ${f1(api.p99)}`,
      'API: containerStatuses startedAt - creationTimestamp (1 s resolution)',
    ]]));
    say('');
    const sameNode = backendNodes.length === 1;
    say(`## 3. New connections/s from ${node(1)} (its netns + a child of its cgroup), crr connect/request/response/close, concurrency ${cfg.rate.concurrency}, ${cfg.rate.pairs * 2} alternating runs of ${cfg.rate.durationMs / 1000} s; busybox httpd on ${backendNodes.join(' + ')}${sameNode ? ' (same node: the 1-node cluster cannot go cross-node)' : ' (cross-node)'}`);
    say(rt.text);
    say('(crr p50/p99: connect to the first response bytes; httpd forks per connection, so the server bounds the rate for both paths alike)');
    const elapsedMs = performance.now() - t0;
    say(`elapsed ${f1(elapsedMs / 1000)} s; load average ${loadavg()[0]!.toFixed(2)} at the end (${m.nproc} CPUs; other work on the machine shows up as noise in every figure)`);
    console.log(`RESULT ${JSON.stringify({
      bench: 'up', mode: cfg.quick ? 'quick' : 'full', machine: m, config: { upPlan: cfg.upPlan, pods: cfg.pods, podsNode: cfg.podsNode ?? null, rate: cfg.rate },
      up: ut.json, downMs: downMs.map((d) => ({ ...d, ms: Math.round(d.ms) })),
      memory: { nodes, pods: cfg.pods, processes: mt.json, k3sAgentReferenceMiB: TARGET.k3sAgentMiB },
      podStartup: { pods: cfg.pods, perNode: ramp.perNode, p50Ms: Math.round(lat.p50), p99Ms: Math.round(lat.p99), maxMs: Math.round(lat.max),
        allRunningMs: Math.round(ramp.allRunningMs), apiP50S: api.p50, apiP99S: api.p99, polls: ramp.polls },
      rate: { crossNode: !sameNode, clientNode: node(1), backendNodes, ...rt.json },
      elapsedMs: Math.round(elapsedMs),
    })}`);
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`bench:up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  });
}
