// Durability: every write the server acknowledged survives SIGKILL of the process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { build } from 'esbuild';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { adminCredentials, rawRequest } from '../helpers/apiserver.js';

const ROOT = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'ebbflow-crash-'));
const dir = join(work, 'data');
const entry = join(work, 'server.mjs');
const spawned: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

function startChild(port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [entry, '--data-dir', dir, '--port', String(port), '--bind', '127.0.0.1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  return new Promise((res, rej) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => rej(new Error(`server did not start: ${out} ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/listening on (https:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        res({ child, url: m[1] });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`server exited early (${code}): ${err}`));
    });
  });
}

beforeAll(async () => {
  // A real node process running the bundled server (dependencies resolved from the project).
  mkdirSync(dir);
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
  await build({ entryPoints: [join(ROOT, 'test/helpers/apiserver-child.ts')], outfile: entry, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'silent' });
});

afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('crash safety', () => {
  it('keeps every acknowledged write across kill -9 and restart', async () => {
    const port = await freePort();
    const first = await startChild(port);
    const creds = adminCredentials(dir);
    const acked = new Set<string>();
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop) {
        const name = `cm-${n++}`;
        try {
          const r = await rawRequest(first.url, creds, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name }, data: { n: name } }));
          if (r.status === 201) acked.add(name);
        } catch {
          return; // connection died with the process
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    while (acked.size < 300) await new Promise((r) => setTimeout(r, 10));
    const exited = new Promise((r) => first.child.once('exit', r));
    process.kill(first.child.pid!, 'SIGKILL');
    await exited;
    stop = true;
    await Promise.all(workers);
    expect(acked.size).toBeGreaterThanOrEqual(300);

    const second = await startChild(port);
    const list = await rawRequest(second.url, creds, 'GET', '/api/v1/namespaces/default/configmaps');
    expect(list.status).toBe(200);
    const present = new Set<string>(list.json().items.map((i: { metadata: { name: string } }) => i.metadata.name));
    const missing = [...acked].filter((a) => !present.has(a));
    expect(missing).toEqual([]);
    // The restarted server keeps serving writes.
    const w = await rawRequest(second.url, creds, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'after-restart' } }));
    expect(w.status).toBe(201);
    const done = new Promise((r) => second.child.once('exit', r));
    process.kill(second.child.pid!, 'SIGTERM');
    expect(await done).toBe(0);
  });
});
