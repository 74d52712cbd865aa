// Store contract on the embedded SQLite driver.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { defineStoreContract } from '../helpers/apiserver-store-contract.js';

defineStoreContract({
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'ebbflow-store-'));
    const store = await openSqliteStore({ path: join(dir, 'db.sqlite') });
    return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  },
});
