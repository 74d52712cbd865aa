// Informer behaviour against a scripted transport: list then watch from the
// list's resourceVersion, bookmarks advance it, 410 Gone relists and
// diffs, failures reconnect with bounded back-off on an injectable clock,
// periodic resync, stop aborts; plus the indexer's indexes.
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/api/meta.js';
import { Cache, ownerUidIndex } from '../../src/client/cache.js';
import { createClient } from '../../src/client/client.js';
import { FakeClock } from '../../src/client/clock.js';
import { ClientError } from '../../src/client/errors.js';
import { makeInformer } from '../../src/client/informer.js';
import { resources } from '../../src/client/resources.js';
import type { RequestOptions, Transport } from '../../src/client/rest.js';

const cm = (name: string, rv: number, data = ''): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: String(rv), uid: `uid-${name}` }, data: { v: data } });

type WatchScript = { events: unknown[]; end?: 'close' | 'hang' } | { fail: ClientError };

function fakeTransport(lists: { rv: number; items: KubeObject[] }[], watches: WatchScript[], clock?: FakeClock) {
  const calls: { kind: 'list' | 'watch'; query: RequestOptions['query']; at?: number }[] = [];
  const open: PassThrough[] = [];
  const t: Transport = {
    async request<T>(_m: string, _p: string, opts: RequestOptions = {}) {
      calls.push({ kind: 'list', query: opts.query });
      const l = lists.shift();
      if (!l) throw new ClientError('CLIENT_ERR_NETWORK', 'no more lists');
      return { metadata: { resourceVersion: String(l.rv) }, items: structuredClone(l.items) } as T;
    },
    async stream(_p: string, opts: RequestOptions = {}) {
      calls.push({ kind: 'watch', query: opts.query, at: clock?.now() });
      const w = watches.shift();
      const s = new PassThrough();
      open.push(s);
      s.on('error', () => undefined);
      if (opts.signal?.aborted) throw new ClientError('CLIENT_ERR_ABORTED', 'request aborted');
      opts.signal?.addEventListener('abort', () => s.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' })));
      if (!w) return s as unknown as IncomingMessage; // hangs until aborted
      if ('fail' in w) throw w.fail;
      for (const e of w.events) s.write(JSON.stringify(e) + '\n');
      if (w.end !== 'hang') s.end();
      return s as unknown as IncomingMessage;
    },
    close() {},
  };
  return { t, calls };
}

const until = async (cond: () => boolean, clock?: FakeClock) => {
  for (let i = 0; i < 2000 && !cond(); i++) {
    clock?.advance(10);
    await new Promise((r) => setImmediate(r));
  }
  expect(cond()).toBe(true);
};

describe('informer', () => {
  it('lists, watches from the list resourceVersion, follows bookmarks, relists on 410 with a diff', async () => {
    const { t, calls } = fakeTransport(
      [{ rv: 10, items: [cm('a', 5), cm('b', 6)] }, { rv: 30, items: [cm('a', 12, 'x'), cm('d', 29)] }],
      [
        { events: [{ type: 'ADDED', object: cm('c', 11) }, { type: 'MODIFIED', object: cm('a', 12, 'x') }, { type: 'DELETED', object: cm('b', 13) }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } }] },
        { events: [{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } }] },
      ],
    );
    const clock = new FakeClock();
    const inf = makeInformer(createClient(t), resources.configmaps, { clock });
    const log: string[] = [];
    inf.on({ add: (o) => log.push(`add ${o.metadata.name}`), update: (a, b) => log.push(`update ${b.metadata.name} ${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`), delete: (o) => log.push(`delete ${o.metadata.name}`) });
    inf.start();
    await inf.waitForSync();
    await until(() => calls.filter((c) => c.kind === 'watch').length >= 3, clock);
    const watchRvs = calls.filter((c) => c.kind === 'watch').map((c) => c.query?.resourceVersion);
    expect(watchRvs).toEqual(['10', '20', '30']);
    expect(calls.filter((c) => c.kind === 'watch').every((c) => c.query?.allowWatchBookmarks === true)).toBe(true);
    expect(log).toEqual(['add a', 'add b', 'add c', 'update a 5->12', 'delete b', 'add d', 'delete c']);
    expect(inf.store.keys().sort()).toEqual(['ns/a', 'ns/d']);
    expect(inf.resourceVersion).toBe('30');
    await inf.stop();
  });

  it('reconnects after failures with bounded exponential back-off and resets after success', async () => {
    const net = () => ({ fail: new ClientError('CLIENT_ERR_NETWORK', 'connection refused') });
    const clock = new FakeClock();
    const { t, calls } = fakeTransport([{ rv: 1, items: [] }], [net(), net(), net(), net(), { events: [{ type: 'ADDED', object: cm('a', 2) }] }, net()], clock);
    const inf = makeInformer(createClient(t), resources.configmaps, { clock, backoff: { initialMs: 100, maxMs: 400 } });
    inf.start();
    await inf.waitForSync();
    const watches = () => calls.filter((c) => c.kind === 'watch');
    await until(() => watches().length >= 7, clock);
    const times = watches().map((c) => c.at!);
    const gaps = times.slice(1).map((t2, i) => t2 - times[i]);
    // 100, 200, 400, 400 (capped); the successful watch reconnects at once; the success reset the back-off to 100.
    expect(gaps).toEqual([100, 200, 400, 400, 0, 100]);
    expect(inf.store.get('ns/a')).toBeTruthy();
    await inf.stop();
  });

  it('resyncs cached objects as updates and stops an open watch on stop()', async () => {
    const { t } = fakeTransport([{ rv: 1, items: [cm('a', 1)] }], []);
    const clock = new FakeClock();
    const inf = makeInformer(createClient(t), resources.configmaps, { clock, resyncMs: 1000 });
    let resyncs = 0;
    inf.on({ update: (a, b) => a === b && resyncs++ });
    inf.start();
    await inf.waitForSync();
    clock.advance(999);
    expect(resyncs).toBe(0);
    clock.advance(1);
    expect(resyncs).toBe(1);
    clock.advance(2000);
    expect(resyncs).toBe(3);
    await inf.stop();
    clock.advance(5000);
    expect(resyncs).toBe(3);
  });

  it('stops through an AbortSignal', async () => {
    const { t } = fakeTransport([{ rv: 1, items: [] }], []);
    const ac = new AbortController();
    const inf = makeInformer(createClient(t), resources.configmaps, { clock: new FakeClock(), signal: ac.signal });
    inf.start();
    await inf.waitForSync();
    ac.abort();
    await inf.stop();
  });
});

describe('cache indexes', () => {
  it('indexes by namespace and custom functions, following updates and deletes', () => {
    const c = new Cache<KubeObject>();
    c.addIndex('owner', ownerUidIndex);
    const owned = (name: string, ns: string, owner: string): KubeObject => ({ metadata: { name, namespace: ns, ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: owner }] } });
    c.upsert(owned('p1', 'a', 'u1'));
    c.upsert(owned('p2', 'a', 'u2'));
    c.upsert(owned('p3', 'b', 'u1'));
    expect(c.byNamespace('a').map((o) => o.metadata.name).sort()).toEqual(['p1', 'p2']);
    expect(c.byIndex('owner', 'u1').map((o) => o.metadata.name).sort()).toEqual(['p1', 'p3']);
    c.upsert(owned('p1', 'a', 'u2'));
    expect(c.byIndex('owner', 'u1').map((o) => o.metadata.name)).toEqual(['p3']);
    expect(c.byIndex('owner', 'u2').map((o) => o.metadata.name).sort()).toEqual(['p1', 'p2']);
    c.remove('b/p3');
    expect(c.byIndex('owner', 'u1')).toEqual([]);
    // An index added later covers existing objects.
    c.addIndex('name', (o) => [o.metadata.name!]);
    expect(c.byIndex('name', 'p2')).toHaveLength(1);
  });
});
