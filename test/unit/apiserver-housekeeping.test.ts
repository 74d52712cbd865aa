import { describe, expect, it } from 'vitest';
import { expireEvents } from '../../src/apiserver/housekeeping.js';
import { Objects } from '../../src/apiserver/objects.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

describe('event expiry', () => {
  it('deletes events past the TTL and keeps recent ones', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    const now = Date.parse('2026-06-01T12:00:00Z');
    const ev = (name: string, last: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'ns', creationTimestamp: '2026-01-01T00:00:00Z' }, lastTimestamp: last, involvedObject: {} });
    await store.create('/registry/core/events/ns/old', ev('old', '2026-06-01T10:00:00Z'));
    await store.create('/registry/core/events/ns/new', ev('new', '2026-06-01T11:30:00Z'));
    await store.create('/registry/core/configmaps/ns/keep', ev('keep', '2020-01-01T00:00:00Z'));
    expect(await expireEvents(store, new Objects(store), 3600, now)).toBe(1);
    expect((await store.list('/registry/core/events/')).items.map((i) => i.key)).toEqual(['/registry/core/events/ns/new']);
    expect(await store.count('/registry/core/configmaps/')).toBe(1);
    await store.close();
  });
});
