// The `ebbflow up` / `down` / `images build` commands as bench:up runs them:
// the real CLI as a child process (what a user times), with a hard time
// limit, its output kept for the error message, and a free loopback port.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** Wall-clock time of the whole command. */
  ms: number;
}

/** Runs `node <cli> args...` to completion (SIGKILL after timeoutMs). */
export function runCli(cli: string, args: string[], timeoutMs: number): Promise<CliRun> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err, ms: performance.now() - t0 });
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface ClusterTarget {
  cli: string;
  name: string;
  port: number;
  imagesDir: string;
}

export interface UpRun {
  nodes: number;
  /** Wall clock of `ebbflow up` until it exited (it exits once every node is Ready). */
  wallMs: number;
  /** What `up` itself reports ("Ready in X s"), from its start to the last Ready node. */
  reportedMs: number | null;
}

/** `ebbflow up` of a fresh cluster in dataDir; throws with its output when it fails. */
export async function clusterUp(t: ClusterTarget, dataDir: string, nodes: number, timeoutS = 120): Promise<UpRun> {
  const r = await runCli(t.cli, ['up', '--nodes', String(nodes), '--name', t.name, '--data-dir', dataDir, '--port', String(t.port),
    '--skip-setup', '--images-dir', t.imagesDir, '--timeout', String(timeoutS)], (timeoutS + 30) * 1000);
  if (r.code !== 0) throw new Error(`ebbflow up --nodes ${nodes} failed (exit ${r.code}):\n${r.err.trim()}\n${r.out.trim()}`);
  const m = /Ready in ([\d.]+) s/.exec(r.out);
  return { nodes, wallMs: r.ms, reportedMs: m ? Number(m[1]) * 1000 : null };
}

/** `ebbflow down` when dataDir still holds a cluster; the wall-clock ms, or null when there was none. */
export async function clusterDown(t: ClusterTarget, dataDir: string): Promise<number | null> {
  if (!existsSync(join(dataDir, 'cluster.json'))) return null;
  const r = await runCli(t.cli, ['down', '--data-dir', dataDir], 180_000);
  if (r.code !== 0) throw new Error(`ebbflow down --data-dir ${dataDir} failed (exit ${r.code}):\n${r.err.trim()}\n${r.out.trim()}`);
  return r.ms;
}

/** `ebbflow images build --out dir` (pause.tar + busybox.tar). */
export async function buildImages(cli: string, dir: string): Promise<void> {
  const r = await runCli(cli, ['images', 'build', '--out', dir], 120_000);
  if (r.code !== 0) throw new Error(`ebbflow images build failed (exit ${r.code}):\n${r.err.trim()}`);
}
