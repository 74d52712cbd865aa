// API benchmark: create/get/list/watch throughput and latency of the ebbflow
// API server on SQLite and on etcd, against raw etcd (etcd3 client) as the
// baseline. `--quick` finishes in well under a minute. Last line: RESULT {json}.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { start } from '../src/apiserver/server.js';
import type { DatastoreConfig } from '../src/store/index.js';

interface Stat {
  ops: number;
  opsPerSec: number;
  p50ms: number;
  p99ms: number;
}

type Row = Record<string, Stat>;

const quick = process.argv.includes('--quick');
const N = quick ? 1500 : 10000;
const CONCURRENCY = 16;
const LIST_SIZE = 100;
const WATCH_EVENTS = quick ? 300 : 2000;
/** 1 KiB ConfigMaps, created by 1 and by 50 concurrent clients. */
const KIB = 'x'.repeat(1024);
const SINGLE_OPS = quick ? 200 : 1000;
const MANY = 50;
/** Lists of every object created (N). */
const BIG_LISTS = quick ? 5 : 10;
/** Paced (open-loop) creates for the mutating-latency-at-500-writes/s figure. */
const RATE = 500;
const RATE_OPS = quick ? 1000 : 5000;
/** Watchers and events of the fan-out figure. */
const WATCHERS = 100;
const FANOUT_EVENTS = quick ? 60 : 300;

/** Fires op(i) on schedule at `perSec` regardless of completions; returns latencies. */
async function paced(count: number, perSec: number, op: (i: number) => Promise<void>): Promise<Stat> {
  const lat: number[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / perSec;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    pending.push(op(i).then(() => void lat.push(performance.now() - t)));
  }
  await Promise.all(pending);
  return stat(lat, performance.now() - t0);
}

/** Writes `events` values one at a time (every 20 ms) and measures, for each
 * watcher, the time from the write's start to the event's arrival. */
async function fanout(events: number, subscribe: (onValue: (v: string, t: number) => void) => Promise<() => Promise<void> | void>, write: (i: number, v: string) => Promise<void>): Promise<Stat> {
  const sent = new Map<string, number>();
  const lat: number[] = [];
  let got = 0;
  const closers: (() => Promise<void> | void)[] = [];
  for (let w = 0; w < WATCHERS; w++) {
    closers.push(await subscribe((v, t) => {
      const s = sent.get(v);
      if (s !== undefined) {
        lat.push(t - s);
        got++;
      }
    }));
  }
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    const v = `f${i}`;
    sent.set(v, performance.now());
    await write(i, v);
    await new Promise((r) => setTimeout(r, 20));
  }
  const deadline = performance.now() + 5000;
  while (got < events * WATCHERS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const c of closers) await c();
  if (got < events * WATCHERS) throw new Error(`fan-out: ${events * WATCHERS - got} events never reached their watcher`);
  return stat(lat, performance.now() - t0);
}

function stat(latencies: number[], wallMs: number): Stat {
  const s = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { ops: s.length, opsPerSec: Math.round((s.length / wallMs) * 1000), p50ms: +q(0.5).toFixed(3), p99ms: +q(0.99).toFixed(3) };
}

/** Runs `count` operations with bounded concurrency, timing each. */
async function load(count: number, op: (i: number) => Promise<void>, concurrency = CONCURRENCY): Promise<Stat> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await op(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  return stat(lat, performance.now() - t0);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

async function startEtcd(dir: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${client}`;
  const child = spawn('/usr/bin/etcd', ['--name', 'bench', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `bench=http://127.0.0.1:${peer}`, '--log-level', 'error'], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${endpoint}/health`)).ok) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
    },
  };
}

/** Benchmarks the API server over HTTPS with the admin client certificate. */
async function benchApi(dataDir: string, datastore: DatastoreConfig | undefined): Promise<Row> {
  const handle = await start({ dataDir, bind: '127.0.0.1', port: 0, datastore });
  const pki = (f: string) => readFileSync(join(dataDir, 'pki', f), 'utf8');
  const agent = new Agent({ keepAlive: true, maxSockets: MANY, ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') });
  const url = new URL(handle.url);
  const call = (method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<number> =>
    new Promise((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ agent, hostname: url.hostname, port: url.port, method, path, headers: text ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) } : {} }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(text);
    });
  const ok = async (p: Promise<number>, want: number) => {
    const code = await p;
    if (code !== want) throw new Error(`unexpected status ${code}`);
  };
  await ok(call('POST', '/api/v1/namespaces', { metadata: { name: 'bench' } }), 201);
  await ok(call('POST', '/api/v1/namespaces', { metadata: { name: 'small' } }), 201);
  const row: Row = {};
  await ok(call('POST', '/api/v1/namespaces', { metadata: { name: 'one' } }), 201);
  row['create 1KiB x1'] = await load(SINGLE_OPS, (i) => ok(call('POST', '/api/v1/namespaces/one/configmaps', { metadata: { name: `one-${i}` }, data: { v: KIB } }), 201), 1);
  row[`create 1KiB x${MANY}`] = await load(N, (i) => ok(call('POST', '/api/v1/namespaces/bench/configmaps', { metadata: { name: `cm-${i}`, labels: { app: 'bench' } }, data: { i: String(i), v: KIB } }), 201), MANY);
  row.get = await load(N, (i) => ok(call('GET', `/api/v1/namespaces/bench/configmaps/cm-${(i * 7919) % N}`), 200));
  row[`list ${N}`] = await load(BIG_LISTS, () => ok(call('GET', '/api/v1/namespaces/bench/configmaps'), 200), 1);
  for (let i = 0; i < LIST_SIZE; i++) await ok(call('POST', '/api/v1/namespaces/small/configmaps', { metadata: { name: `s-${i}` } }), 201);
  row[`list${LIST_SIZE}`] = await load(quick ? 200 : 1000, () => ok(call('GET', '/api/v1/namespaces/small/configmaps'), 200));
  // Watch: latency from an acknowledged update to its event on an open watch.
  const rv = await new Promise<string>((resolve, reject) => {
    const req = request({ agent, hostname: url.hostname, port: url.port, path: '/api/v1/namespaces/small/configmaps?limit=1' }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(JSON.parse(b).metadata.resourceVersion));
    });
    req.on('error', reject);
    req.end();
  });
  const waiters = new Map<string, (t: number) => void>();
  const watchAgent = new Agent({ ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') });
  const wreq = request({ agent: watchAgent, hostname: url.hostname, port: url.port, path: `/api/v1/namespaces/small/configmaps?watch=1&resourceVersion=${rv}` }, (res) => {
    let buf = '';
    res.on('data', (c: Buffer) => {
      buf += c.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const ev = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        const v = ev.object?.data?.v;
        if (v && waiters.has(v)) waiters.get(v)!(performance.now());
      }
    });
  });
  wreq.on('error', () => undefined);
  wreq.end();
  await new Promise((r) => setTimeout(r, 200));
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < WATCH_EVENTS; i++) {
    const tag = `v${i}`;
    const seen = new Promise<number>((r) => waiters.set(tag, r));
    const t = performance.now();
    await ok(call('PATCH', `/api/v1/namespaces/small/configmaps/s-${i % LIST_SIZE}`, { data: { v: tag } }, 'application/merge-patch+json'), 200);
    lat.push((await seen) - t);
    waiters.delete(tag);
  }
  row.watch = stat(lat, performance.now() - t0);
  wreq.destroy();
  row[`create@${RATE}/s`] = await paced(RATE_OPS, RATE, (i) =>
    ok(call('POST', '/api/v1/namespaces/bench/configmaps', { metadata: { name: `paced-${i}` }, data: { i: String(i) } }), 201));
  const fanAgent = new Agent({ ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key'), maxSockets: WATCHERS + 4 });
  row[`watch x${WATCHERS}`] = await fanout(FANOUT_EVENTS, async (onValue) => {
    // resourceVersion=0 starts with the current object: its ADDED event
    // tells that this watch is registered before any measured write.
    let registered!: () => void;
    const ready = new Promise<void>((r) => (registered = r));
    const req = request({ agent: fanAgent, hostname: url.hostname, port: url.port, path: `/api/v1/namespaces/small/configmaps?watch=1&resourceVersion=0&fieldSelector=metadata.name%3Ds-0` }, (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const ev = JSON.parse(buf.slice(0, i));
          buf = buf.slice(i + 1);
          if (ev.type === 'ADDED') registered();
          const v = ev.object?.data?.v;
          if (v) onValue(v, performance.now());
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
    await ready;
    return () => void req.destroy();
  }, (_i, v) => ok(call('PATCH', '/api/v1/namespaces/small/configmaps/s-0', { data: { v } }, 'application/merge-patch+json'), 200));
  fanAgent.destroy();
  agent.destroy();
  watchAgent.destroy();
  await handle.stop();
  return row;
}

/** The same operations straight against etcd with the etcd3 client. */
async function benchRawEtcd(endpoint: string): Promise<Row> {
  const client = new Etcd3({ hosts: [endpoint] });
  const value = (i: number) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'bench', labels: { app: 'bench' } }, data: { i: String(i), v: KIB } });
  const key = (i: number) => Buffer.from(`/raw/bench/cm-${i}`);
  const row: Row = {};
  const create = async (k: Buffer, v: string) => {
    const r = await client.kv.txn({ compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }], success: [{ request_put: { key: k, value: Buffer.from(v) } }], failure: [] });
    if (!r.succeeded) throw new Error('exists');
  };
  row['create 1KiB x1'] = await load(SINGLE_OPS, (i) => create(Buffer.from(`/raw/one/${i}`), value(i)), 1);
  row[`create 1KiB x${MANY}`] = await load(N, (i) => create(key(i), value(i)), MANY);
  row.get = await load(N, async (i) => {
    await client.kv.range({ key: key((i * 7919) % N) });
  });
  row[`list ${N}`] = await load(BIG_LISTS, async () => {
    await client.getAll().prefix('/raw/bench/').exec();
  }, 1);
  for (let i = 0; i < LIST_SIZE; i++) await client.put(`/raw/small/s-${i}`).value(value(i)).exec();
  row[`list${LIST_SIZE}`] = await load(quick ? 200 : 1000, async () => {
    await client.getAll().prefix('/raw/small/').exec();
  });
  const waiters = new Map<string, (t: number) => void>();
  const w = await client.watch().prefix('/raw/small/').create();
  w.on('put', (kv) => {
    const v = JSON.parse(kv.value.toString()).data?.v;
    if (v && waiters.has(v)) waiters.get(v)!(performance.now());
  });
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < WATCH_EVENTS; i++) {
    const tag = `v${i}`;
    const seen = new Promise<number>((r) => waiters.set(tag, r));
    const t = performance.now();
    await client.put(`/raw/small/s-${i % LIST_SIZE}`).value(JSON.stringify({ data: { v: tag } })).exec();
    lat.push((await seen) - t);
    waiters.delete(tag);
  }
  row.watch = stat(lat, performance.now() - t0);
  await w.cancel();
  row[`create@${RATE}/s`] = await paced(RATE_OPS, RATE, async (i) => {
    const k = Buffer.from(`/raw/bench/paced-${i}`);
    const r = await client.kv.txn({ compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }], success: [{ request_put: { key: k, value: Buffer.from(value(i)) } }], failure: [] });
    if (!r.succeeded) throw new Error('exists');
  });
  row[`watch x${WATCHERS}`] = await fanout(FANOUT_EVENTS, async (onValue) => {
    const watcher = await client.watch().key('/raw/small/s-0').create();
    watcher.on('put', (kv) => {
      const v = JSON.parse(kv.value.toString()).data?.v;
      if (v) onValue(v, performance.now());
    });
    return () => watcher.cancel();
  }, async (_i, v) => {
    await client.put('/raw/small/s-0').value(JSON.stringify({ data: { v } })).exec();
  });
  client.close();
  return row;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ebbflow-bench-api-'));
  const results: Record<string, Row> = {};
  try {
    results['ebbflow-sqlite'] = await benchApi(join(work, 'sqlite'), undefined);
    if (existsSync('/usr/bin/etcd')) {
      const etcd = await startEtcd(work);
      try {
        results['raw-etcd'] = await benchRawEtcd(etcd.endpoint);
        results['ebbflow-etcd'] = await benchApi(join(work, 'etcd-api'), { kind: 'etcd', endpoints: [etcd.endpoint], prefix: '/ebbflow' });
      } finally {
        await etcd.stop();
      }
    } else {
      console.log('etcd not installed (/usr/bin/etcd): raw etcd baseline skipped');
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const machine = `${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  console.log(`API benchmark (${quick ? 'quick' : 'full'}: ${N} objects, concurrency ${CONCURRENCY} unless named, server in-process) on ${machine}`);
  const baseline = results['raw-etcd'];
  const ops = Object.keys(results['ebbflow-sqlite']);
  const header = ['op', ...Object.keys(results).map((k) => `${k} ops/s (p50/p99 ms)`), ...(baseline ? ['sqlite/etcd-raw', 'etcd-api/etcd-raw'] : [])];
  const lines = [header];
  for (const op of ops) {
    const cells = [op, ...Object.values(results).map((r) => `${r[op].opsPerSec} (${r[op].p50ms}/${r[op].p99ms})`)];
    if (baseline) {
      cells.push((results['ebbflow-sqlite'][op].opsPerSec / baseline[op].opsPerSec).toFixed(2) + 'x');
      cells.push((results['ebbflow-etcd'][op].opsPerSec / baseline[op].opsPerSec).toFixed(2) + 'x');
    }
    lines.push(cells);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => String(l[i] ?? '').length)));
  for (const l of lines) console.log(l.map((c, i) => String(c).padEnd(widths[i])).join('  '));
  console.log(`watch = latency from acknowledged write to event; create@${RATE}/s = open-loop creates at ${RATE}/s (latency is the figure);`);
  console.log(`watch x${WATCHERS} = one write every 20 ms fanned out to ${WATCHERS} watchers, latency from the write's start to each delivery; ratios are throughput vs raw etcd (baseline).`);
  console.log(`RESULT ${JSON.stringify({ mode: quick ? 'quick' : 'full', machine, objects: N, concurrency: CONCURRENCY, results })}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
