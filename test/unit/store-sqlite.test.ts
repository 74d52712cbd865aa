// SQLite-specific behaviour: one owning process per database file.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';

describe('sqlite store ownership', () => {
  it('refuses a database owned by another live process and replaces a dead owner', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebbflow-owner-'));
    const path = join(dir, 'state.db');
    try {
      writeFileSync(`${path}.owner`, `${process.ppid}\n`);
      await expect(openSqliteStore({ path })).rejects.toThrow(`in use by process ${process.ppid}`);
      const dead = spawnSync('true').pid;
      writeFileSync(`${path}.owner`, `${dead}\n`);
      const store = await openSqliteStore({ path });
      await store.create('/k', 'v');
      await store.close();
      expect(existsSync(`${path}.owner`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
