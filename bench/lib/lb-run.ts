// The measurement loop of bench/lb.ts: programs every mode once per service
// count, then alternates the modes (forward, then reversed order) with a
// conntrack drain, a warm-up and one bounded crr run each.
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import type { Logger } from '../../src/log/logger.js';
import { execInNetns } from '../../src/netns/index.js';
import { runCrrClient } from './crr.js';
import { acquireRunLock, createLbWorld } from './lb-setup.js';
import { createDirectMode, createIptablesMode, createNftablesMode, NOFLUSH_MAX_SERVICES } from './modes.js';
import { formatTable, machineInfo, median, type MachineInfo, type Row } from './report.js';
import { makeServices } from './services.js';
import type { BenchService, CrrResult, LbBenchContext, LbMode } from './types.js';

const execFileAsync = promisify(execFile);

export interface LbConfig {
  quick: boolean;
  counts: number[];
  backends: number;
  repeats: number;
  durationMs: number;
  maxConnections: number;
  concurrency: number;
  warmupConnections: number;
  targetsPerRun: number;
  /** Also measure each VIP mode against only the first and only the last service. */
  positions: boolean;
  pauseMs: number;
  nftMaxServices: number;
  iptablesMaxServices: number;
  logLevel: 'debug' | 'warn';
}

export interface LbDeps {
  repoRoot: string;
  crrPath: string;
  logger: Logger;
  createEbbflowMode(ctx: LbBenchContext): Promise<LbMode | null>;
  print(line: string): void;
}

interface Cell {
  services: number;
  mode: string;
  programMs: number | null;
  runs: CrrResult[];
  note?: string;
}

export interface LbResult {
  machine: MachineInfo;
  config: Omit<LbConfig, 'logLevel'>;
  cells: Array<{
    services: number;
    mode: string;
    programMs: number | null;
    rate: number;
    ratioVsDirect: number | null;
    connectP50Us: number;
    connectP50VsDirect: number | null;
    connectP99Us: number;
    crrP50Us: number;
    crrP99Us: number;
    errors: number;
    ratesByRepeat: number[];
    note?: string;
  }>;
  skipped: Array<{ services: number; mode: string; reason: string }>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Up to `k` ClusterIP:port targets spread evenly over the services (first and last included). */
export function spreadTargets(services: readonly BenchService[], k: number): string[] {
  const n = services.length;
  if (n === 0 || k <= 0) return [];
  const idx = new Set<number>();
  if (n <= k) for (let i = 0; i < n; i++) idx.add(i);
  else for (let i = 0; i < k; i++) idx.add(Math.round((i * (n - 1)) / (k - 1)));
  return [...idx].sort((a, b) => a - b).map((i) => `${services[i]!.clusterIP}:${services[i]!.port}`);
}

// Live (unexpired) entries: nf_conntrack_count also counts expired entries
// the GC has not freed yet, which no longer match anything.
async function conntrackCount(ns: string): Promise<number> {
  try {
    const r = await execInNetns(ns, 'sh', ['-c', 'wc -l < /proc/net/nf_conntrack']);
    return Number(r.stdout.trim());
  } catch {
    return 0;
  }
}

// There is no conntrack(8) here: wait (bounded) for the short closing-state
// timeouts set in lb-setup to empty the node's table.
async function drainConntrack(ns: string, pauseMs: number): Promise<number> {
  await sleep(pauseMs);
  const deadline = Date.now() + 4 * pauseMs;
  let n = await conntrackCount(ns);
  while (n > 64 && Date.now() < deadline) {
    await sleep(200);
    n = await conntrackCount(ns);
  }
  return n;
}

async function tool(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args);
    return stdout.trim();
  } catch {
    return 'unavailable';
  }
}

/** Runs the whole benchmark and prints the table; returns every figure. */
export async function runLbBench(config: LbConfig, deps: LbDeps): Promise<LbResult> {
  const nproc = cpus().length;
  const machine = machineInfo(await tool('iptables', ['--version']), await tool('nft', ['--version']));
  deps.print(
    `# bench:lb on ${machine.nproc} CPUs, kernel ${machine.kernel}, ${machine.cpu}; ${machine.iptables}; ${machine.nft}` +
      `${config.quick ? ' (quick)' : ''}`,
  );
  const unlock = await acquireRunLock();
  try {
    return await runLocked(config, deps, nproc, machine);
  } finally {
    await unlock();
  }
}

async function runLocked(config: LbConfig, deps: LbDeps, nproc: number, machine: MachineInfo): Promise<LbResult> {
  const half = Math.max(1, nproc >> 1);
  // Client and server on disjoint CPUs: their scheduling does not interfere.
  const clientCpus = nproc >= 2 ? `0-${half - 1}` : undefined;
  const serverCpus = nproc >= 2 ? `${half}-${nproc - 1}` : undefined;
  const world = await createLbWorld({
    crrPath: deps.crrPath,
    repoRoot: deps.repoRoot,
    backends: config.backends,
    logger: deps.logger,
    clientCpus,
    serverCpus,
    serverThreads: Math.max(1, nproc - half),
  });
  const ctx = world.ctx;
  const cells: Cell[] = [];
  const skipped: LbResult['skipped'] = [];
  const live: LbMode[] = [];
  try {
    const ebbflow = await deps.createEbbflowMode(ctx);
    const modes: LbMode[] = [createDirectMode(), createIptablesMode(ctx), createNftablesMode(ctx)];
    if (ebbflow) modes.push(ebbflow);
    else skipped.push({ services: -1, mode: 'ebbflow', reason: 'createEbbflowMode returned null (placeholder)' });
    const directTargets = ctx.backendIps.map((ip) => `${ip}:${ctx.backendPort}`);

    for (const n of config.counts) {
      const services = makeServices(n, ctx.backendIps, ctx.backendPort);
      const targets = spreadTargets(services, config.targetsPerRun);
      // With --positions, VIP modes also get runs against only the first and
      // only the last service: kube-proxy's iptables walks KUBE-SERVICES in
      // order, so these are its best and worst case.
      const variants = (mode: LbMode): Array<{ label: string; targets: string[] }> => {
        if (mode.name === 'direct') return [{ label: mode.name, targets: directTargets }];
        const out = [{ label: mode.name, targets }];
        if (config.positions && n > 1) {
          out.push({ label: `${mode.name}@first`, targets: [targets[0]!] }, { label: `${mode.name}@last`, targets: [targets[targets.length - 1]!] });
        }
        return out;
      };
      const active: Array<{ mode: LbMode; runs: Array<{ cell: Cell; targets: string[] }> }> = [];
      for (const mode of modes) {
        const limit = mode.name === 'nftables' ? config.nftMaxServices : mode.name === 'iptables' ? config.iptablesMaxServices : Infinity;
        if (n > limit) {
          skipped.push({ services: n, mode: mode.name, reason: `over --${mode.name}-max-services=${limit}` });
          continue;
        }
        let programMs: number | null = null;
        if (mode.name !== 'direct') {
          deps.print(`# N=${n}: programming ${mode.name} ...`);
          if (!live.includes(mode)) live.push(mode);
          programMs = (await mode.program(services)).programMs;
          await mode.suspend();
        }
        const runs = variants(mode).map((v) => {
          const cell: Cell = { services: n, mode: v.label, programMs, runs: [] };
          if (mode.name === 'iptables') cell.note = n <= NOFLUSH_MAX_SERVICES ? 'restore --noflush' : 'restore (flush mode)';
          cells.push(cell);
          return { cell, targets: v.targets };
        });
        active.push({ mode, runs });
      }
      for (let r = 0; r < config.repeats; r++) {
        const order = r % 2 === 0 ? active : [...active].reverse();
        for (const { mode, runs } of order) {
          await mode.resume();
          try {
            for (const { cell, targets: runTargets } of runs) {
              const t0 = Date.now();
              const left = await drainConntrack(ctx.nodeNs, config.pauseMs);
              const drainMs = Date.now() - t0;
              const client = {
                ns: ctx.client.ns,
                crrPath: ctx.crrPath,
                targets: runTargets,
                concurrency: config.concurrency,
                cpus: clientCpus,
                cgroup: mode.clientCgroup,
              };
              await runCrrClient({ ...client, count: config.warmupConnections, durationMs: 2000 });
              const res = await runCrrClient({ ...client, count: config.maxConnections, durationMs: config.durationMs });
              deps.logger.debug({ n, mode: cell.mode, repeat: r, conntrackLeft: left, res }, 'run');
              deps.print(
                `#   N=${n} repeat ${r + 1} ${cell.mode}: ${res.rate.toFixed(0)} conn/s, connect p50 ${res.connect_p50_us} us p99 ${res.connect_p99_us} us, errors ${res.errors} (drain ${drainMs} ms, ${left} conntrack entries left)`,
              );
              cell.runs.push(res);
            }
          } finally {
            await mode.suspend();
          }
        }
      }
    }
  } finally {
    for (const m of live) {
      await m.teardown().catch((err: unknown) => deps.logger.warn({ err, mode: m.name }, "teardown failed"));
    }
    await world.destroy();
  }

  const out: LbResult['cells'] = cells.map((c) => {
    const direct = cells.find((d) => d.services === c.services && d.mode === 'direct');
    const rate = median(c.runs.map((x) => x.rate));
    const directRate = direct ? median(direct.runs.map((x) => x.rate)) : Number.NaN;
    const directP50 = direct ? median(direct.runs.map((x) => x.connect_p50_us)) : Number.NaN;
    return {
      services: c.services,
      mode: c.mode,
      programMs: c.programMs === null ? null : Math.round(c.programMs),
      rate: Math.round(rate),
      ratioVsDirect: Number.isFinite(directRate) && directRate > 0 ? Number((rate / directRate).toFixed(3)) : null,
      connectP50Us: median(c.runs.map((x) => x.connect_p50_us)),
      connectP50VsDirect: directP50 > 0 ? Number((median(c.runs.map((x) => x.connect_p50_us)) / directP50).toFixed(3)) : null,
      connectP99Us: median(c.runs.map((x) => x.connect_p99_us)),
      crrP50Us: median(c.runs.map((x) => x.crr_p50_us)),
      crrP99Us: median(c.runs.map((x) => x.crr_p99_us)),
      errors: c.runs.reduce((a, x) => a + x.errors, 0),
      ratesByRepeat: c.runs.map((x) => Math.round(x.rate)),
      ...(c.note ? { note: c.note } : {}),
    };
  });
  const rows: Row[] = out.map((c) => ({
    services: c.services,
    mode: c.mode,
    programMs: c.programMs,
    rate: c.rate,
    ratio: c.ratioVsDirect,
    p50: c.connectP50Us,
    p99: c.connectP99Us,
    p50Ratio: c.connectP50VsDirect,
    note: [c.note, c.errors > 0 ? `${c.errors} errors` : '', `repeats ${c.ratesByRepeat.join('/')}`].filter(Boolean).join('; '),
  }));
  deps.print(formatTable(rows));
  for (const s of skipped) deps.print(`# skipped ${s.mode}${s.services >= 0 ? ` at N=${s.services}` : ''}: ${s.reason}`);
  const { logLevel: _omit, ...rest } = config;
  return { machine, config: rest, cells: out, skipped };
}
