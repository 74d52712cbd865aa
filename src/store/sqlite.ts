// Embedded store driver: an append-only revision log in SQLite (like kine).
// Every write appends one row whose rowid is the global revision; the latest
// row per key is its state (a `deleted` row is a tombstone). WAL mode with
// synchronous=FULL: a write is acknowledged only after its commit is durable.
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CompactedError,
  ConflictError,
  InvalidContinueError,
  KeyExistsError,
  NotFoundError,
  StoreClosedError,
} from './errors.js';
import { Fanout } from './fanout.js';
import {
  decodeContinue,
  encodeContinue,
  prefixEnd,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type WatchEvent,
  type WatchOptions,
  type Watcher,
} from './types.js';

export interface SqliteStoreConfig {
  /** Database file path, or ':memory:'. */
  path: string;
  /** 'full' (default) fsyncs every commit; 'normal' still survives process kill -9 in WAL mode. */
  synchronous?: 'full' | 'normal';
}

interface Row {
  rev: number;
  key: string;
  deleted: number;
  create_rev: number;
  prev_rev: number;
  value: string;
  prev_value: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  rev INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  create_rev INTEGER NOT NULL,
  prev_rev INTEGER NOT NULL DEFAULT 0,
  value TEXT NOT NULL,
  prev_value TEXT
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_rev', 0);
`;

function toKV(r: Row): KeyValue {
  return { key: r.key, value: r.value, createRevision: r.create_rev, modRevision: r.rev };
}

function toEvent(r: Row): WatchEvent {
  const ev: WatchEvent = { type: r.deleted ? 'DELETE' : 'PUT', key: r.key, revision: r.rev, kv: toKV(r) };
  if (r.prev_value !== null && r.prev_rev > 0) {
    ev.prev = { key: r.key, value: r.prev_value, createRevision: r.create_rev, modRevision: r.prev_rev };
  }
  return ev;
}

/**
 * Watches are served from this process, so one process owns a database file:
 * PATH.owner holds its pid; a live other owner is refused, a dead one (kill -9) is replaced.
 */
function claim(path: string): () => void {
  const owner = `${path}.owner`;
  try {
    const pid = Number(readFileSync(owner, 'utf8').trim());
    if (pid && pid !== process.pid) {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw new Error(`sqlite store ${path} is in use by process ${pid}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(owner, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(owner, 'utf8').trim()) === process.pid) rmSync(owner, { force: true });
    } catch {
      /* already gone */
    }
  };
}

/** Opens (creating if needed) an SQLite-backed store. */
export async function openSqliteStore(config: SqliteStoreConfig): Promise<Store> {
  let release = () => undefined as void;
  if (config.path !== ':memory:') {
    mkdirSync(dirname(config.path), { recursive: true });
    release = claim(config.path);
  }
  const db = new Database(config.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${config.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return new SqliteStore(db, release);
}

class SqliteStore implements Store {
  private fanout = new Fanout();
  private closed = false;
  private pending: { op: () => { result: unknown; row?: Row }; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private stmts;

  constructor(private db: Database.Database, private release: () => void) {
    this.stmts = {
      latest: db.prepare<[string], Row>('SELECT * FROM log WHERE key = ? ORDER BY rev DESC LIMIT 1'),
      insert: db.prepare<[string, number, number, number, string, string | null]>(
        'INSERT INTO log (key, deleted, create_rev, prev_rev, value, prev_value) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setCreateRev: db.prepare<[number]>('UPDATE log SET create_rev = rev WHERE rev = ?'),
      byRev: db.prepare<[number], Row>('SELECT * FROM log WHERE rev = ?'),
      current: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'log'"),
      compactRev: db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'compact_rev'"),
      setCompactRev: db.prepare<[number]>("UPDATE meta SET value = ? WHERE name = 'compact_rev'"),
      // Pages start after the last key inside the grouped scan, so paging a large prefix stays linear overall.
      list: db.prepare<{ start: string; end: string; rev: number; limit: number }, Row>(`
        SELECT l.* FROM log l JOIN (
          SELECT key AS k, MAX(rev) AS mr FROM log WHERE key >= @start AND key < @end AND rev <= @rev GROUP BY key
        ) m ON l.rev = m.mr
        WHERE l.deleted = 0 ORDER BY l.key LIMIT @limit`),
      countAfter: db.prepare<{ start: string; end: string; rev: number }, { n: number }>(`
        SELECT COUNT(*) AS n FROM log l JOIN (
          SELECT MAX(rev) AS mr FROM log WHERE key >= @start AND key < @end AND rev <= @rev GROUP BY key
        ) m ON l.rev = m.mr WHERE l.deleted = 0`),
      count: db.prepare<[string, string], { n: number }>(`
        SELECT COUNT(*) AS n FROM log l JOIN (
          SELECT MAX(rev) AS mr FROM log WHERE key >= ? AND key < ? GROUP BY key
        ) m ON l.rev = m.mr WHERE l.deleted = 0`),
      since: db.prepare<[number, string, string], Row>('SELECT * FROM log WHERE rev > ? AND key >= ? AND key < ? ORDER BY rev'),
      compactSuperseded: db.prepare<[{ rev: number }]>(`
        DELETE FROM log WHERE rev IN (
          SELECT a.rev FROM log a WHERE a.rev <= @rev AND (a.deleted = 1 OR EXISTS (
            SELECT 1 FROM log b WHERE b.key = a.key AND b.rev > a.rev AND b.rev <= @rev)))`),
    };
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private live(key: string): Row | undefined {
    const r = this.stmts.latest.get(key);
    return r && !r.deleted ? r : undefined;
  }

  private rev(): number {
    return this.stmts.current.get()?.seq ?? 0;
  }

  private compacted(): number {
    return this.stmts.compactRev.get()?.value ?? 0;
  }

  /**
   * Group commit: writes issued in the same event-loop turn run in one
   * transaction (one fsync); each keeps its own result or error, and events
   * are published in order once the batch is durable.
   */
  private write<T>(op: () => { result: T; row?: Row }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending.splice(0);
    if (!batch.length) return;
    const outcomes: ({ ok: true; result: unknown; row?: Row } | { ok: false; err: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const w of batch) {
          try {
            const r = w.op();
            outcomes.push({ ok: true, result: r.result, row: r.row });
          } catch (err) {
            outcomes.push({ ok: false, err });
          }
        }
      })();
    } catch (err) {
      // The commit itself failed: nothing in the batch is durable.
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) {
        if (o.row) this.fanout.publish(toEvent(o.row));
        w.resolve(o.result);
      } else w.reject(o.err);
    });
  }

  /** Inserts one row (inside the current batch transaction). */
  private insert(key: string, deleted: boolean, value: string, prev: Row | undefined): Row {
    const info = this.stmts.insert.run(key, deleted ? 1 : 0, prev ? prev.create_rev : 0, prev ? prev.rev : 0, value, prev ? prev.value : null);
    const rev = Number(info.lastInsertRowid);
    if (!prev) this.stmts.setCreateRev.run(rev);
    return this.stmts.byRev.get(rev) as Row;
  }

  async get(key: string): Promise<KeyValue> {
    this.check();
    const r = this.live(key);
    if (!r) throw new NotFoundError(key);
    return toKV(r);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.check();
    let revision = opts.revision ?? 0;
    let after = '';
    if (opts.continue) {
      const c = decodeContinue(opts.continue);
      if (!c) throw new InvalidContinueError();
      revision = c.revision;
      after = c.lastKey;
    }
    const current = this.rev();
    if (revision <= 0 || revision > current) revision = current;
    const compacted = this.compacted();
    if (revision < compacted) throw new CompactedError(revision, compacted);
    const end = prefixEnd(prefix);
    const want = opts.limit && opts.limit > 0 ? opts.limit + 1 : -1;
    // One lower bound on key keeps the index range tight: "after k" is "at or after k + NUL".
    const rows = this.stmts.list.all({ start: after ? after + '\u0000' : prefix, end, rev: revision, limit: want });
    const result: ListResult = { items: [], revision };
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const page = limit && rows.length > limit ? rows.slice(0, limit) : rows;
    result.items = page.map(toKV);
    if (limit && rows.length > limit) {
      const last = page[page.length - 1].key;
      result.continue = encodeContinue(revision, last);
      result.remaining = this.stmts.countAfter.get({ start: last + '\u0000', end, rev: revision })?.n ?? 0;
    }
    return result;
  }

  async count(prefix: string): Promise<number> {
    this.check();
    return this.stmts.count.get(prefix, prefixEnd(prefix))?.n ?? 0;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    return this.write(() => {
      if (this.live(key)) throw new KeyExistsError(key);
      const row = this.insert(key, false, value, undefined);
      return { result: toKV(row), row };
    });
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KeyValue> {
    this.check();
    return this.write(() => {
      const cur = this.live(key);
      if (!cur) throw new NotFoundError(key);
      if (cur.rev !== expectedRevision) throw new ConflictError(key, expectedRevision, cur.rev);
      const row = this.insert(key, false, value, cur);
      return { result: toKV(row), row };
    });
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    return this.write(() => {
      const cur = this.live(key);
      if (!cur) throw new NotFoundError(key);
      if (expectedRevision !== undefined && cur.rev !== expectedRevision) throw new ConflictError(key, expectedRevision, cur.rev);
      const row = this.insert(key, true, cur.value, cur);
      return { result: { ...toKV(cur), modRevision: row.rev }, row };
    });
  }

  async watch(prefix: string, revision: number, opts: WatchOptions): Promise<Watcher> {
    this.check();
    const compacted = this.compacted();
    if (revision < compacted) throw new CompactedError(revision, compacted);
    // Catch-up read and subscription happen in one synchronous step: no write can slip between them.
    const backlog = this.stmts.since.all(revision, prefix, prefixEnd(prefix)).map(toEvent);
    return this.fanout.subscribe(prefix, opts, backlog);
  }

  async currentRevision(): Promise<number> {
    this.check();
    return this.rev();
  }

  async compact(revision: number): Promise<void> {
    this.check();
    const target = Math.min(revision, this.rev());
    if (target <= this.compacted()) return;
    this.flush();
    this.db.transaction(() => {
      this.stmts.compactSuperseded.run({ rev: target });
      this.stmts.setCompactRev.run(target);
    })();
  }

  async compactedRevision(): Promise<number> {
    this.check();
    return this.compacted();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.fanout.closeAll(new StoreClosedError());
    this.db.close();
    this.release();
  }
}
