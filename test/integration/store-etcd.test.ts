// Store contract on the etcd driver against a real etcd started for the test.
import { afterAll, beforeAll, describe } from 'vitest';
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
});
