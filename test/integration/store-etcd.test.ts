// Store contract on the etcd driver against a real etcd started for the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { openEtcdStore } from '../../src/store/etcd.js';
import { defineStoreContract } from '../helpers/apiserver-store-contract.js';
import { ETCD_BIN, etcdAvailable, startEtcd, type TestEtcd } from '../helpers/apiserver-etcd.js';

// etcd-server is part of the documented test machine; only where it is truly absent do these skip, saying why.
if (!etcdAvailable()) console.warn(`skipping etcd store contract: ${ETCD_BIN} is not installed`);

let etcd: TestEtcd;

describe.skipIf(!etcdAvailable())('etcd driver', () => {
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

defineStoreContract({
  name: 'etcd',
  async open() {
    // A fresh key prefix per test keeps tests independent on one etcd.
    const store = await openEtcdStore({ endpoints: [etcd.endpoint], prefix: `/t-${randomUUID()}` });
    return { store, cleanup: () => store.close() };
  },
});

it('serves cached reads that reflect its own writes at once and other writers after their watch event', async () => {
  const prefix = `/t-${randomUUID()}`;
  const store = await openEtcdStore({ endpoints: [etcd.endpoint], prefix });
  const other = await openEtcdStore({ endpoints: [etcd.endpoint], prefix });
  const until = async (f: () => boolean) => {
    for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(f()).toBe(true);
  };
  try {
    const a = await store.create('/ns/a', 'a1');
    expect(store.cached!('/ns/a', '/other/')).toBeUndefined(); // a key outside the prefix is never answered
    await until(() => store.cached!('/ns/a', '/ns/') !== undefined);
    expect(store.cached!('/ns/a', '/ns/')).toEqual(a);
    expect(store.cached!('/ns/missing', '/ns/')).toBeUndefined();
    const a2 = await store.update('/ns/a', 'a2', a.modRevision);
    expect(store.cached!('/ns/a', '/ns/')?.value).toBe('a2');
    await store.delete('/ns/a', a2.modRevision);
    expect(store.cached!('/ns/a', '/ns/')).toBeUndefined(); // before the watch event arrives
    await new Promise((r) => setTimeout(r, 100));
    expect(store.cached!('/ns/a', '/ns/')).toBeUndefined(); // the late watch events do not resurrect it
    const b = await other.create('/ns/b', 'b1');
    await until(() => store.cached!('/ns/b', '/ns/')?.modRevision === b.modRevision);
    await other.delete('/ns/b');
    await until(() => store.cached!('/ns/b', '/ns/') === undefined);
    await store.close();
    expect(store.cached!('/ns/a', '/ns/')).toBeUndefined();
  } finally {
    await store.close();
    await other.close();
  }
});
});
