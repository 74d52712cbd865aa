// Store contract on the etcd driver against a real etcd started for the test.
import { afterAll, beforeAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { openEtcdStore } from '../../src/store/etcd.js';
import { defineStoreContract } from '../helpers/apiserver-store-contract.js';
import { startEtcd, type TestEtcd } from '../helpers/apiserver-etcd.js';

let etcd: TestEtcd;
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
