// Processes inside namespaces: spawn (optionally inside a cgroup v2 from its
// first instruction), collect output, wait, and signal by pid only.
import { spawn, type StdioOptions } from 'node:child_process';
import { netnsExecArgv } from './args.js';
import { checkCgroupPath } from './cgroups.js';
import { CommandFailedError } from './errors.js';

export interface SpawnOptions {
  /** Absolute cgroup v2 directory the command runs in, e.g. /sys/fs/cgroup/unified/ebbflow-x. */
  cgroup?: string;
  /** Extra environment, merged over this process's environment. */
  env?: Record<string, string>;
  /** 'pipe' (default) collects stdout/stderr; 'inherit' or 'ignore' pass them through or drop them. */
  stdio?: 'pipe' | 'inherit' | 'ignore';
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface NetnsProcess {
  /** The command's pid (the cgroup shell and ip netns exec exec in place). */
  readonly pid: number;
  /** stdout collected so far. */
  readonly stdout: string;
  /** stderr collected so far. */
  readonly stderr: string;
  /** Resolves once the process has exited. */
  wait(): Promise<ExitStatus>;
  /** Sends a signal to this process's pid only; false when it already exited. */
  kill(signal?: NodeJS.Signals): boolean;
}

/** Starts `cmd args` inside `ns` and returns a handle on it. */
export function spawnInNetns(ns: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): NetnsProcess {
  if (opts.cgroup !== undefined) checkCgroupPath(opts.cgroup);
  const argv = netnsExecArgv(ns, cmd, args, opts.cgroup);
  const mode = opts.stdio ?? 'pipe';
  const stdio: StdioOptions = mode === 'pipe' ? ['ignore', 'pipe', 'pipe'] : ['ignore', mode, mode];
  const [command, ...rest] = argv as [string, ...string[]];
  const child = spawn(command, rest, { stdio, env: opts.env ? { ...process.env, ...opts.env } : process.env });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  let exited = false;
  const done = new Promise<ExitStatus>((resolve) => {
    child.on('error', (e) => {
      exited = true;
      err += String(e.message);
      resolve({ code: null, signal: null, stdout: out, stderr: err });
    });
    child.on('close', (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    get stdout() {
      return out;
    },
    get stderr() {
      return err;
    },
    wait: () => done,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (exited || pid <= 0) return false;
      return child.kill(signal);
    },
  };
}

export interface ExecOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Kill the process (SIGKILL) and reject after this long; default 60 s. */
  timeoutMs?: number;
}

/** Runs `cmd args` inside `ns` to completion; rejects with CommandFailedError on non-zero exit. */
export async function execInNetns(
  ns: string,
  cmd: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExitStatus> {
  const p = spawnInNetns(ns, cmd, args, { cgroup: opts.cgroup, env: opts.env });
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  try {
    const status = await p.wait();
    if (status.code !== 0) {
      const [command, ...rest] = netnsExecArgv(ns, cmd, args, opts.cgroup) as [string, ...string[]];
      throw new CommandFailedError(command, rest, status.code, status.signal, status.stderr);
    }
    return status;
  } finally {
    clearTimeout(timer);
  }
}
