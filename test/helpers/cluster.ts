// Helpers for end-to-end tests on an `ebbflow up` cluster: a free loopback
// port, a process run to completion (bounded in time), the real CLI, and
// kubectl against the cluster's kubeconfig.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const CLI = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Runs cmd to completion (SIGKILL after timeoutMs) with optional stdin and extra env. */
export function runProcess(cmd: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, out, err });
    });
    p.stdin.end(opts.input ?? '');
  });
}

/** `ebbflow ARGS` with the built CLI. */
export function ebbflow(args: string[], timeoutMs = 240_000): Promise<RunResult> {
  return runProcess(process.execPath, [CLI, ...args], { timeoutMs });
}

/** kubectl against the cluster in dataDir; rejects with kubectl's message on failure. */
export function clusterKubectl(dataDir: string): (args: string[], input?: string) => Promise<string> {
  return async (args, input) => {
    const r = await runProcess('kubectl', args, { input, env: { KUBECONFIG: join(dataDir, 'kubeconfig') }, timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.err || r.out}`);
    return r.out;
  };
}
