// NetworkPolicy benchmark: new-connection rate and connect() latency from a
// client pod to a backend pod with no ebbflow at all, the dataplane without
// a policy engine (tc programs attached, no endpoints), and the policy
// engine with 0, 100 and 1,000 NetworkPolicies selecting the backend; plus
// the time from handing the agent a changed policy set to the maps being
// written (compile + diff + map updates), p50/p99.
// Run: npm run bench:policy [-- --quick] (root).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { cpus, release } from 'node:os';
import { PolicySync } from '../src/agent/policy-sync.js';
import { EndpointTable } from '../src/dataplane/endpoint-table.js';
import { loadDataplane } from '../src/dataplane/loader.js';
import { createLogger } from '../src/log/logger.js';
import { netnsPath } from '../src/netns/index.js';
import type { ClusterState, NetworkPolicy, Pod } from '../src/policy/types.js';
import { runCrrClient } from './lib/crr.js';
import { acquireRunLock, createLbWorld } from './lib/lb-setup.js';
import { median } from './lib/report.js';

const execFileAsync = promisify(execFile);

function pod(name: string, ip: string, labels: Record<string, string>): Pod {
  return {
    metadata: { namespace: 'bench', name, labels },
    spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
    status: { podIP: ip, podIPs: [{ ip }], phase: 'Running' },
  } as Pod;
}

/** n policies on the backend: one admits the client, the others admit other label sets. */
function policies(n: number, allowClient = true): NetworkPolicy[] {
  const out: NetworkPolicy[] = [];
  for (let i = 0; i < n; i++) {
    const from: Record<string, string> = i === 0 && allowClient ? { app: 'client' } : { team: `t${i}` };
    out.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
      metadata: { namespace: 'bench', name: `np-${i}` },
      spec: {
        podSelector: { matchLabels: { app: 'backend' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: from } }], ports: [{ protocol: 'TCP', port: 80 + (i % 50) }] }],
      },
    } as NetworkPolicy);
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { quick: { type: 'boolean', default: false } } });
  const quick = values.quick === true;
  if (process.getuid?.() !== 0) throw new Error('bench:policy needs root (network namespaces, BPF)');
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const crrPath = join(repoRoot, 'build', 'bench', 'crr');
  await execFileAsync('bash', [join(repoRoot, 'scripts', 'build-bench-tools.sh')]);
  const logger = createLogger({ level: 'warn' });
  const unlock = await acquireRunLock();
  const nproc = cpus().length;
  const half = Math.max(1, nproc >> 1);
  const clientCpus = nproc >= 2 ? `0-${half - 1}` : undefined;
  const world = await createLbWorld({
    crrPath, repoRoot, backends: 4, logger, clientCpus, serverCpus: nproc >= 2 ? `${half}-${nproc - 1}` : undefined,
    serverThreads: Math.max(1, nproc - half),
  });
  const pinRoot = `/sys/fs/bpf/ebbflow/bench-policy-${randomBytes(3).toString('hex')}`;
  const { ctx } = world;
  const dp = await loadDataplane({ node: 'bench', pinRoot });
  const table = EndpointTable.restore({ endpoints: dp.endpoints, ipcache: dp.ipcache, policy: dp.policy });
  const sync = new PolicySync(table);
  const clientPod = pod('client', ctx.client.ip, { app: 'client' });
  const backendPod = pod('backend', ctx.backend.ip, { app: 'backend' });
  // Other pods so that policies select real identities.
  const others = Array.from({ length: 1000 }, (_, i) => pod(`p${i}`, `10.201.${i >> 8}.${i & 255}`, { team: `t${i % 1000}` }));
  const local = [
    { pod: 'bench/client', ip: ctx.client.ip, ifindex: ctx.client.hostIfIndex, endpointId: 1 },
    { pod: 'bench/backend', ip: ctx.backend.ip, ifindex: ctx.backend.hostIfIndex, endpointId: 2 },
  ];
  const state = (n: number, allowClient = true): ClusterState => ({
    policies: policies(n, allowClient),
    pods: [clientPod, backendPod, ...others],
    namespaces: [{ metadata: { name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench' } } } as ClusterState['namespaces'][number]],
  });
  const targets = [`${ctx.backend.ip}:80`];
  const durationMs = quick ? 1500 : 4000;
  const repeats = quick ? 2 : 3;
  const rows: { mode: string; rate: number; p50: number; p99: number; entries: number }[] = [];
  let attached = false;
  const attach = async (on: boolean) => {
    if (on === attached) return;
    for (const p of [ctx.client, ctx.backend]) {
      if (on) await dp.attachEndpoint({ netns: netnsPath(ctx.nodeNs), ifname: p.hostIf });
      else await dp.detachEndpoint({ netns: netnsPath(ctx.nodeNs), ifname: p.hostIf });
    }
    attached = on;
  };
  const modes: { name: string; setup: () => Promise<number> }[] = [
    { name: 'no ebbflow', setup: async () => { await attach(false); return 0; } },
    { name: 'no policy engine', setup: async () => { await attach(true); await sync.sync({ policies: [], pods: [], namespaces: [] }, []); return 0; } },
    ...[0, 100, 1000].map((n) => ({
      name: `${n} policies`,
      setup: async () => { await attach(true); const s = await sync.sync(state(n), local); return s.rules; },
    })),
  ];
  const results = new Map<string, { rates: number[]; p50: number[]; p99: number[]; entries: number }>();
  try {
    for (let r = 0; r < repeats; r++) {
      const order = r % 2 === 0 ? modes : [...modes].reverse();
      for (const m of order) {
        const entries = await m.setup();
        await runCrrClient({ ns: ctx.client.ns, crrPath, targets, count: 300, durationMs: 1000, concurrency: 4, cpus: clientCpus });
        const res = await runCrrClient({ ns: ctx.client.ns, crrPath, targets, count: 400_000, durationMs, concurrency: 4, cpus: clientCpus });
        if (res.errors > 0) throw new Error(`${m.name}: ${res.errors} connection errors (policy should allow the client)`);
        const cell = results.get(m.name) ?? { rates: [], p50: [], p99: [], entries };
        cell.rates.push(res.rate);
        cell.p50.push(res.connect_p50_us);
        cell.p99.push(res.connect_p99_us);
        results.set(m.name, cell);
        console.log(`#   repeat ${r + 1} ${m.name}: ${res.rate.toFixed(0)} conn/s, connect p50 ${res.connect_p50_us} us`);
        await new Promise((res2) => setTimeout(res2, 500));
      }
    }
    for (const m of modes) {
      const c = results.get(m.name)!;
      rows.push({ mode: m.name, rate: median(c.rates), p50: median(c.p50), p99: median(c.p99), entries: c.entries });
    }
    // Apply-to-enforced: a policy change handed to the agent until the maps are written.
    await attach(true);
    const lat: number[] = [];
    for (let i = 0; i < (quick ? 10 : 30); i++) {
      const t0 = performance.now();
      await sync.sync(state(1000, i % 2 === 1), local);
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    const base = rows.find((x) => x.mode === 'no policy engine')!;
    console.log(`# bench:policy on ${nproc} CPUs (${cpus()[0]?.model ?? '?'}), kernel ${release()}${quick ? ' (quick)' : ''}`);
    console.log(`${'mode'.padEnd(18)} ${'policy entries'.padStart(14)} ${'conn/s'.padStart(8)} ${'vs no engine'.padStart(12)} ${'p50 us'.padStart(7)} ${'p99 us'.padStart(7)}`);
    console.log('-'.repeat(72));
    for (const x of rows) {
      console.log(`${x.mode.padEnd(18)} ${String(x.entries).padStart(14)} ${x.rate.toFixed(0).padStart(8)} ${(x.rate / base.rate).toFixed(2).padStart(12)} ${String(Math.round(x.p50)).padStart(7)} ${String(Math.round(x.p99)).padStart(7)}`);
    }
    const p = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
    console.log(`apply-to-enforced with 1000 policies (compile + diff + map writes, API watch delivery not included): p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms over ${lat.length} changes`);
    console.log(`RESULT ${JSON.stringify({ machine: { nproc, kernel: release(), cpu: cpus()[0]?.model }, quick, rows: rows.map((x) => ({ ...x, ratioVsNoEngine: +(x.rate / base.rate).toFixed(3) })), applyToEnforcedMs: { p50: +p(0.5).toFixed(2), p99: +p(0.99).toFixed(2) } })}`);
  } finally {
    await attach(false).catch(() => undefined);
    dp.destroy();
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
    await world.destroy();
    await unlock();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
