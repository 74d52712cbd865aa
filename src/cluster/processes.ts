// The local cluster's long-running processes: started detached (they outlive
// `ebbflow up`), inside a named network namespace through nsenter (which
// execs in place, so the pid we record is the program's), logging to a file,
// recognised later by pid *and* command line (a recycled pid is never
// signalled), and stopped by that pid only.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DaemonSpec {
  argv: string[];
  /** Named network namespace to run in (none = the caller's). */
  netns?: string;
  logFile: string;
  /** Descriptors handed to the child as fd 3, 4, ... (socket activation). */
  passFds?: number[];
  env?: Record<string, string>;
}

/** Starts a detached daemon and returns its pid. */
export function spawnDaemon(spec: DaemonSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const log = openSync(spec.logFile, 'a');
  // nsenter --net switches the network namespace only: the mount namespace
  // (bpffs, cgroupfs, /var/run/netns) stays the host's, as the agent needs.
  const full = spec.netns ? ['nsenter', `--net=/var/run/netns/${spec.netns}`, '--', ...spec.argv] : spec.argv;
  try {
    const child = spawn(full[0]!, full.slice(1), {
      detached: true,
      stdio: ['ignore', log, log, ...(spec.passFds ?? [])],
      env: { ...process.env, ...spec.env },
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.argv[0]}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** The process's argv, or undefined when it is gone (or a zombie). */
export function processArgv(pid: number): string[] | undefined {
  try {
    if (readFileSync(`/proc/${pid}/stat`, 'utf8').match(/\) ([A-Z]) /)?.[1] === 'Z') return undefined;
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw ? raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1) : undefined;
  } catch {
    return undefined;
  }
}

/** True when pid runs and its argv contains every marker (in order-insensitive, exact-arg match). */
export function isOurs(pid: number | undefined, markers: readonly string[]): boolean {
  if (!pid || pid <= 1) return false;
  const argv = processArgv(pid);
  return argv !== undefined && markers.every((m) => argv.includes(m));
}

/** Sends `signal` to the pid, waits until it is gone, SIGKILL after timeoutMs; true if it had to be killed. */
export async function stopDaemon(pid: number, markers: readonly string[], signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<boolean> {
  if (!isOurs(pid, markers)) return false;
  process.kill(pid, signal);
  const killAt = Date.now() + timeoutMs;
  while (isOurs(pid, markers)) {
    if (Date.now() > killAt) {
      process.kill(pid, 'SIGKILL');
      while (isOurs(pid, markers)) await new Promise((r) => setTimeout(r, 20));
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Resident set size of a process in bytes (0 when gone). */
export function rssBytes(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
