// Runs the crr tool (bench/tools/crr.c): the backend server and bounded
// client runs, inside namespaces, pinned to CPUs with taskset.
import { execInNetns, spawnInNetns, type NetnsProcess } from '../../src/netns/index.js';
import type { CrrResult } from './types.js';

export interface CrrServerOptions {
  ns: string;
  crrPath: string;
  port: number;
  threads: number;
  /** CPU list for taskset, e.g. "1"; omitted means no pinning. */
  cpus?: string;
}

function pinned(cpus: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [cmd, args] : ['taskset', ['-c', cpus, cmd, ...args]];
}

/** Starts `crr server` and resolves once it listens. */
export async function startCrrServer(opts: CrrServerOptions): Promise<NetnsProcess> {
  const [cmd, args] = pinned(opts.cpus, opts.crrPath, ['server', '--port', String(opts.port), '--threads', String(opts.threads)]);
  const proc = spawnInNetns(opts.ns, cmd, args);
  const deadline = Date.now() + 5000;
  while (!proc.stdout.includes('listening')) {
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      await proc.wait();
      throw new Error(`crr server did not start in ${opts.ns}: ${proc.stderr.trim()}`);
    }
    const exited = await Promise.race([proc.wait().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 20))]);
    if (exited) throw new Error(`crr server exited in ${opts.ns}: ${proc.stderr.trim()}`);
  }
  return proc;
}

export interface CrrClientOptions {
  ns: string;
  crrPath: string;
  targets: string[];
  count: number;
  durationMs: number;
  concurrency: number;
  timeoutMs?: number;
  cpus?: string;
  cgroup?: string;
}

/** One bounded `crr client --json` run; resolves with its parsed report. */
export async function runCrrClient(opts: CrrClientOptions): Promise<CrrResult> {
  const [cmd, args] = pinned(opts.cpus, opts.crrPath, [
    'client',
    '--target',
    opts.targets.join(','),
    '--count',
    String(opts.count),
    '--duration-ms',
    String(opts.durationMs),
    '--concurrency',
    String(opts.concurrency),
    '--timeout-ms',
    String(opts.timeoutMs ?? 1000),
    '--json',
  ]);
  const res = await execInNetns(opts.ns, cmd, args, { cgroup: opts.cgroup, timeoutMs: opts.durationMs + 30_000 });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as CrrResult;
}
