// NetworkPolicy benchmark: new-connection rate and connect() latency from a
// client pod to a backend pod with no ebbflow at all, the dataplane without
// a policy engine (tc programs attached, no endpoints), and the policy
// engine with 0, 100 and 1,000 NetworkPolicies selecting the backend; plus
// apply-to-enforced: a real API server (`ebbflow server` in a child process)
// holding 1,000 NetworkPolicies and 10,000 pods, the agent's policy watch +
// PolicySync (cluster-wide identities through the API, as startAgent wires
// them) on the real dataplane, and a policy change that adds or removes the
// client's allow entry on the backend, written with `kubectl apply` and with
// the API client; enforcement is seen by polling the BPF policy map (1 ms).
// Run: npm run bench:policy [-- --quick] [-- --latency-only] (root).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { cpus, release, tmpdir } from 'node:os';
import { clusterIdentities } from '../src/agent/identities.js';
import { startPolicyWatch } from '../src/agent/policy-watch.js';
import type { PolicySyncStats } from '../src/agent/policy-sync.js';
import type { KubeObject } from '../src/api/meta.js';
import { connect, type Client } from '../src/client/client.js';
import { createInformerFactory } from '../src/client/factory.js';
import { resources } from '../src/client/resources.js';
import { ruleKey } from '../src/dataplane/endpoint-table.js';
import { ipv4ToNumber } from '../src/dataplane/ip.js';
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
  const { values } = parseArgs({ args: process.argv.slice(2), options: { quick: { type: 'boolean', default: false }, 'latency-only': { type: 'boolean', default: false } } });
  const quick = values.quick === true;
  // --latency-only skips the connection-rate runs (for iterating on apply-to-enforced).
  const latencyOnly = values['latency-only'] === true;
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
    for (let r = 0; r < (latencyOnly ? 0 : repeats); r++) {
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
    for (const m of latencyOnly ? [] : modes) {
      const c = results.get(m.name)!;
      rows.push({ mode: m.name, rate: median(c.rates), p50: median(c.p50), p99: median(c.p99), entries: c.entries });
    }
    // Apply-to-enforced through a real API server and the agent's watch.
    await attach(true);
    const e2e = await applyToEnforced({ table, dp, ctx, local, quick, pods: quick ? 2000 : 10_000, logger });
    const base = rows.find((x) => x.mode === 'no policy engine') ?? { rate: NaN };
    console.log(`# bench:policy on ${nproc} CPUs (${cpus()[0]?.model ?? '?'}), kernel ${release()}${quick ? ' (quick)' : ''}`);
    console.log(`${'mode'.padEnd(18)} ${'policy entries'.padStart(14)} ${'conn/s'.padStart(8)} ${'vs no engine'.padStart(12)} ${'p50 us'.padStart(7)} ${'p99 us'.padStart(7)}`);
    console.log('-'.repeat(72));
    for (const x of rows) {
      console.log(`${x.mode.padEnd(18)} ${String(x.entries).padStart(14)} ${x.rate.toFixed(0).padStart(8)} ${(x.rate / base.rate).toFixed(2).padStart(12)} ${String(Math.round(x.p50)).padStart(7)} ${String(Math.round(x.p99)).padStart(7)}`);
    }
    console.log('');
    console.log(`apply-to-enforced, ${e2e.policies} policies, ${e2e.pods} pods (${e2e.identities} identities) in the API server; target p99 < 200 ms`);
    console.log(`${'path'.padEnd(34)} ${'samples'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
    console.log('-'.repeat(70));
    for (const [name, xs] of Object.entries(e2e.samples)) {
      console.log(`${name.padEnd(34)} ${String(xs.length).padStart(7)} ${quantile(xs, 0.5).toFixed(1).padStart(8)} ${quantile(xs, 0.99).toFixed(1).padStart(8)} ${Math.max(...xs).toFixed(1).padStart(8)}`);
    }
    console.log(`(agent per change: compile p50 ${quantile(e2e.compileMs, 0.5).toFixed(1)} ms, map writes p50 ${quantile(e2e.applyMs, 0.5).toFixed(1)} ms; p99 is the nearest-rank value, so with fewer than 100 samples it is the maximum)`);
    const summary = Object.fromEntries(Object.entries(e2e.samples).map(([k, xs]) => [k, { n: xs.length, p50: +quantile(xs, 0.5).toFixed(2), p99: +quantile(xs, 0.99).toFixed(2) }]));
    console.log(`RESULT ${JSON.stringify({ machine: { nproc, kernel: release(), cpu: cpus()[0]?.model }, quick, rows: rows.map((x) => ({ ...x, ratioVsNoEngine: +(x.rate / base.rate).toFixed(3) })), applyToEnforcedMs: { policies: e2e.policies, pods: e2e.pods, ...summary, agentCompileP50: +quantile(e2e.compileMs, 0.5).toFixed(2), agentApplyP50: +quantile(e2e.applyMs, 0.5).toFixed(2) } })}`);
  } finally {
    await attach(false).catch(() => undefined);
    dp.destroy();
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
    await world.destroy();
    await unlock();
  }
}

/** Nearest-rank quantile (p99 of fewer than 100 samples is their maximum). */
function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** `ebbflow server` in a child process on a free loopback port; its own event loop, as in a cluster. */
async function startServerChild(repoRoot: string, dataDir: string): Promise<{ child: ChildProcess; kubeconfig: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'server', '--data-dir', dataDir, '--bind', '127.0.0.1', '--port', '0', '--disable-controllers', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kubeconfig = await new Promise<string>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`api server did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /kubeconfig: (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    child.once('exit', (code) => rej(new Error(`api server exited (${code}): ${out}`)));
  });
  child.stdout!.resume();
  return { child, kubeconfig };
}

/** Runs f over items with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, f: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await f(items[i++]!);
  }));
}

interface E2eConfig {
  /** The dataplane's table; the agent side gets its own PolicySync over it with cluster identities. */
  table: EndpointTable;
  dp: Awaited<ReturnType<typeof loadDataplane>>;
  ctx: Awaited<ReturnType<typeof createLbWorld>>['ctx'];
  local: { pod: string; ip: string; ifindex: number; endpointId: number }[];
  quick: boolean;
  pods: number;
  logger: ReturnType<typeof createLogger>;
}

async function applyToEnforced(cfg: E2eConfig) {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'ebf-bench-policy-'));
  const { child, kubeconfig } = await startServerChild(repoRoot, join(dir, 'api'));
  let client: Client | undefined;
  let stopWatch: (() => void) | undefined;
  let informers: ReturnType<typeof createInformerFactory> | undefined;
  try {
    client = connect(kubeconfig);
    const c = client;
    await c.create(resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench' } } } as KubeObject);
    const t0 = performance.now();
    const all = [
      pod('client', cfg.ctx.client.ip, { app: 'client' }),
      pod('backend', cfg.ctx.backend.ip, { app: 'backend' }),
      ...Array.from({ length: cfg.pods - 2 }, (_, i) => pod(`p${i}`, `10.201.${i >> 8}.${i & 255}`, { team: `t${i % 1000}` })),
    ];
    await pool(all, 16, async (p) => {
      const { status, ...rest } = p;
      const spec = { ...rest.spec, containers: rest.spec.containers.map((x) => ({ ...x, image: 'busybox' })) };
      await c.create(resources.pods, 'bench', { apiVersion: 'v1', kind: 'Pod', ...rest, spec } as unknown as KubeObject);
      await c.patch(resources.pods, 'bench', p.metadata.name, { status }, 'merge', 'status');
    });
    const nPolicies = 1000;
    await pool(policies(nPolicies), 16, (np) => c.create(resources.networkpolicies, 'bench', np as unknown as KubeObject));
    console.log(`#   api server loaded: ${all.length} pods, ${nPolicies} policies in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const compileMs: number[] = [];
    const applyMs: number[] = [];
    let collect = false;
    informers = createInformerFactory(c, { logger: cfg.logger });
    const sync = new PolicySync(cfg.table, await clusterIdentities(c));
    const local = cfg.local;
    const t1 = performance.now();
    const watch = await startPolicyWatch({
      informers, sync, localEndpoints: () => local, logger: cfg.logger,
      onSynced: (s: PolicySyncStats) => {
        if (!collect) return;
        compileMs.push(s.compileMs);
        applyMs.push(s.applyMs);
      },
    });
    stopWatch = () => watch.stop();
    console.log(`#   agent initial sync in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

    const clientId = cfg.dp.endpoints.get(ipv4ToNumber(cfg.ctx.client.ip))?.identity;
    if (!clientId) throw new Error('client endpoint not registered after the initial sync');
    // The entry np-0 contributes: the backend (endpoint 2) admits the client on TCP/80.
    const key = ruleKey(2, { direction: 'ingress', identity: clientId, proto: 6, port: 80, portPrefixBits: 16 });
    const present = () => cfg.dp.policy.get(key) !== undefined;
    if (!present()) throw new Error('np-0 does not admit the client after the initial sync');
    const spec = (allow: boolean) => ({
      podSelector: { matchLabels: { app: 'backend' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: allow ? { app: 'client' } : { app: 'nobody' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    });
    const waitFor = async (want: boolean, since: number, timeoutMs = 10_000): Promise<number> => {
      for (;;) {
        if (present() === want) return performance.now() - since;
        if (performance.now() - since > timeoutMs) throw new Error(`policy map did not ${want ? 'gain' : 'lose'} the client entry within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const kubectl = (allow: boolean) => new Promise<void>((res, rej) => {
      const k = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kubectl-cache'), 'apply', '-f', '-'], { timeout: 30_000 }, (err, _out, stderr) => (err ? rej(new Error(`kubectl apply: ${stderr}`)) : res()));
      k.stdin!.end(JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np-0', namespace: 'bench' }, spec: spec(allow) }));
    });
    const n = cfg.quick ? 10 : 30;
    const samples: Record<string, number[]> = { 'API write -> enforced': [], 'kubectl apply -> enforced': [], 'kubectl process (start to exit)': [], 'pod relabel (API) -> ipcache': [] };
    // A pod label change: pod p5 gains/loses a label, i.e. moves to a new identity (allocated
    // cluster-wide through the API) and back; seen when its ipcache /32 changes identity.
    const p5 = { prefixLen: 32, addr: ipv4ToNumber('10.201.0.5') };
    const relabel = async (canary: boolean) => {
      const before = cfg.dp.ipcache.get(p5);
      const s = performance.now();
      await c.patch(resources.pods, 'bench', 'p5', { metadata: { labels: { canary: canary ? 'yes' : null } } }, 'merge');
      for (;;) {
        if (cfg.dp.ipcache.get(p5) !== before) return performance.now() - s;
        if (performance.now() - s > 10_000) throw new Error('ipcache entry of p5 did not change within 10 s');
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    let allow = true;
    // One warm-up kubectl run fills its discovery/openapi cache, as on a workstation.
    allow = !allow;
    await kubectl(allow);
    await waitFor(allow, performance.now());
    await watch.idle();
    collect = true;
    for (let i = 0; i < n; i++) {
      for (const via of ['api', 'kubectl'] as const) {
        allow = !allow;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
        const s = performance.now();
        if (via === 'api') {
          await c.patch(resources.networkpolicies, 'bench', 'np-0', { spec: spec(allow) }, 'merge');
          samples['API write -> enforced'].push(await waitFor(allow, s));
        } else {
          const done = kubectl(allow).then(() => samples['kubectl process (start to exit)'].push(performance.now() - s));
          samples['kubectl apply -> enforced'].push(await waitFor(allow, s));
          await done;
        }
        await watch.idle();
      }
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
      samples['pod relabel (API) -> ipcache'].push(await relabel(i % 2 === 0));
      await watch.idle();
    }
    const identities = new Set([...Array.from({ length: 1000 }, (_, i) => `t${i}`), 'client', 'backend']).size;
    return { samples, compileMs, applyMs, policies: nPolicies, pods: all.length, identities };
  } finally {
    stopWatch?.();
    await informers?.stop();
    client?.close();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
