// The Store contract shared by every driver's tests (sqlite in test/unit,
// etcd in test/integration): call defineStoreContract with a driver factory.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStoreError, type Store, type WatchEvent } from '../../src/store/index.js';

export interface Driver {
  name: string;
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

function collect(events: WatchEvent[], n: number, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (events.length >= n) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`got ${events.length} events, want ${n}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isStoreError(err)) return err.code;
    throw err;
  }
}

/** Registers the contract suite for one driver. */
export function defineStoreContract(driver: Driver): void {
describe(`store contract: ${driver.name}`, () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await driver.open());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('creates, reads, and refuses duplicate keys', async () => {
    const a = await store.create('/r/pods/default/a', '{"x":1}');
    expect(a.modRevision).toBeGreaterThan(0);
    expect(a.createRevision).toBe(a.modRevision);
    const got = await store.get('/r/pods/default/a');
    expect(got).toEqual(a);
    expect(await code(store.create('/r/pods/default/a', '{}'))).toBe('KEY_EXISTS');
    expect(await code(store.get('/r/pods/default/missing'))).toBe('NOT_FOUND');
  });

  it('updates with compare-and-swap on modRevision', async () => {
    const a = await store.create('/k/a', 'v1');
    const b = await store.update('/k/a', 'v2', a.modRevision);
    expect(b.modRevision).toBeGreaterThan(a.modRevision);
    expect(b.createRevision).toBe(a.createRevision);
    expect(await code(store.update('/k/a', 'v3', a.modRevision))).toBe('CONFLICT');
    expect((await store.get('/k/a')).value).toBe('v2');
    expect(await code(store.update('/k/none', 'v', 1))).toBe('NOT_FOUND');
  });

  it('deletes with optional precondition, and allows re-create', async () => {
    const a = await store.create('/k/a', 'v1');
    expect(await code(store.delete('/k/a', a.modRevision + 100))).toBe('CONFLICT');
    const d = await store.delete('/k/a', a.modRevision);
    expect(d.value).toBe('v1');
    expect(await code(store.get('/k/a'))).toBe('NOT_FOUND');
    expect(await code(store.delete('/k/a'))).toBe('NOT_FOUND');
    const again = await store.create('/k/a', 'v2');
    expect(again.createRevision).toBeGreaterThan(a.createRevision);
  });

  it('lists by prefix, sorted, with limit/continue at a stable revision', async () => {
    for (const n of ['c', 'a', 'e', 'b', 'd']) await store.create(`/p/x/${n}`, n);
    await store.create('/p/y/a', 'other');
    const first = await store.list('/p/x/', { limit: 2 });
    expect(first.items.map((i) => i.value)).toEqual(['a', 'b']);
    expect(first.continue).toBeTruthy();
    expect(first.remaining).toBe(3);
    await store.create('/p/x/bb', 'late'); // after the first page: must not appear
    await store.delete('/p/x/e');
    const second = await store.list('/p/x/', { limit: 2, continue: first.continue });
    expect(second.revision).toBe(first.revision);
    expect(second.items.map((i) => i.value)).toEqual(['c', 'd']);
    const third = await store.list('/p/x/', { limit: 2, continue: second.continue });
    expect(third.items.map((i) => i.value)).toEqual(['e']);
    expect(third.continue).toBeUndefined();
    const now = await store.list('/p/x/');
    expect(now.items.map((i) => i.value)).toEqual(['a', 'b', 'late', 'c', 'd']);
    expect(await store.count('/p/x/')).toBe(5);
    expect(await code(store.list('/p/x/', { continue: 'garbage' }))).toBe('INVALID_CONTINUE');
  });

  it('lists at an older revision', async () => {
    const a = await store.create('/h/a', 'a1');
    await store.update('/h/a', 'a2', a.modRevision);
    await store.create('/h/b', 'b1');
    const old = await store.list('/h/', { revision: a.modRevision });
    expect(old.items.map((i) => i.value)).toEqual(['a1']);
  });

  it('watches from a revision with ordered PUT/DELETE events and previous values', async () => {
    const a = await store.create('/w/a', '1');
    const b = await store.update('/w/a', '2', a.modRevision);
    const events: WatchEvent[] = [];
    const w = await store.watch('/w/', a.modRevision, { onEvent: (e) => events.push(e) });
    await store.create('/w/b', '3');
    await store.create('/other/z', 'ignored');
    await store.delete('/w/a', b.modRevision);
    await collect(events, 3);
    w.cancel();
    expect(events.map((e) => [e.type, e.key, e.kv.value])).toEqual([
      ['PUT', '/w/a', '2'],
      ['PUT', '/w/b', '3'],
      ['DELETE', '/w/a', '2'],
    ]);
    expect(events[0].prev?.value).toBe('1');
    const revs = events.map((e) => e.revision);
    expect([...revs].sort((x, y) => x - y)).toEqual(revs);
    await store.create('/w/c', 'after cancel');
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toHaveLength(3);
  });

  it('compacts history and reports CompactedError for old revisions', async () => {
    const a = await store.create('/c/a', '1');
    const b = await store.update('/c/a', '2', a.modRevision);
    const gone = await store.create('/c/gone', 'x');
    await store.delete('/c/gone');
    const rev = await store.currentRevision();
    await store.compact(b.modRevision);
    expect(await store.compactedRevision()).toBe(b.modRevision);
    expect(await code(store.watch('/c/', a.modRevision, { onEvent: () => undefined }))).toBe('COMPACTED');
    expect(await code(store.list('/c/', { revision: a.modRevision }))).toBe('COMPACTED');
    expect((await store.get('/c/a')).value).toBe('2');
    const events: WatchEvent[] = [];
    const w = await store.watch('/c/', b.modRevision, { onEvent: (e) => events.push(e) });
    await collect(events, 2);
    w.cancel();
    expect(events.map((e) => e.key)).toEqual(['/c/gone', '/c/gone']);
    expect(gone.modRevision).toBeGreaterThan(b.modRevision);
    expect(await store.currentRevision()).toBe(rev);
  });
});
}
