// etcd driver (v3 API via the etcd3 client): etcd's own revision is the
// global revision, mod_revision the resourceVersion; compare-and-swap is a
// transaction on mod_revision/create_revision; watches come from etcd.
import { Etcd3, type IKeyValue, type IRangeResponse } from 'etcd3';
import { CompactedError, ConflictError, InvalidContinueError, KeyExistsError, NotFoundError, StoreClosedError } from './errors.js';
import { PrefixCache } from './prefix-cache.js';
import { decodeContinue, encodeContinue, prefixEnd, type KeyValue, type ListOptions, type ListResult, type Store, type WatchOptions, type Watcher } from './types.js';

export interface EtcdStoreConfig {
  endpoints: string[];
  /** Prepended to every key (lets several clusters share one etcd). */
  prefix?: string;
  dialTimeoutMs?: number;
}

/** Opens an etcd-backed store and checks the cluster answers. */
export async function openEtcdStore(config: EtcdStoreConfig): Promise<Store> {
  const client = new Etcd3({ hosts: config.endpoints, dialTimeout: config.dialTimeoutMs ?? 5000 });
  const store = new EtcdStore(client, config.prefix ?? '');
  await store.currentRevision();
  return store;
}

function isCompactedMessage(err: unknown): boolean {
  return /compacted/i.test((err as Error)?.message ?? '');
}

class EtcdStore implements Store {
  private closed = false;
  private compactedRev = 0;
  private watchers = new Set<Watcher>();
  private caches = new Map<string, PrefixCache>();

  constructor(private client: Etcd3, private keyPrefix: string) {}

  cached(key: string, prefix: string): KeyValue | undefined {
    if (this.closed || !key.startsWith(prefix)) return undefined;
    let c = this.caches.get(prefix);
    if (!c) {
      const cache = new PrefixCache(prefix, this, () => {
        if (this.caches.get(prefix) === cache) this.caches.delete(prefix);
      });
      this.caches.set(prefix, cache);
      void cache.start();
      c = cache;
    }
    return c.peek(key);
  }

  /** Write-through: an acknowledged write reaches the caches before its caller continues. */
  private wrote(key: string, rev: number, kv?: KeyValue): void {
    for (const c of this.caches.values()) if (key.startsWith(c.prefix)) c.apply(key, rev, kv);
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private k(key: string): Buffer {
    return Buffer.from(this.keyPrefix + key);
  }

  private toKV(kv: IKeyValue): KeyValue {
    return { key: kv.key.toString().slice(this.keyPrefix.length), value: kv.value.toString(), createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision) };
  }

  private async range(key: Buffer, end: Buffer | undefined, extra: { revision?: number; limit?: number; countOnly?: boolean } = {}): Promise<IRangeResponse> {
    try {
      return await this.client.kv.range({ key, range_end: end, revision: extra.revision || undefined, limit: extra.limit || undefined, count_only: extra.countOnly || undefined, sort_order: 'Ascend', sort_target: 'Key' });
    } catch (err) {
      if (isCompactedMessage(err)) throw new CompactedError(extra.revision ?? 0, this.compactedRev);
      throw err;
    }
  }

  async get(key: string): Promise<KeyValue> {
    this.check();
    const res = await this.range(this.k(key), undefined);
    if (!res.kvs.length) throw new NotFoundError(key);
    return this.toKV(res.kvs[0]);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.check();
    let revision = opts.revision ?? 0;
    let start = this.k(prefix);
    if (opts.continue) {
      const c = decodeContinue(opts.continue);
      if (!c) throw new InvalidContinueError();
      revision = c.revision;
      start = Buffer.concat([this.k(c.lastKey), Buffer.from([0])]);
    }
    if (revision > 0 && revision > (await this.currentRevision())) revision = 0;
    const end = this.k(prefixEnd(prefix));
    const res = await this.range(start, end, { revision, limit: opts.limit });
    const items = res.kvs.map((kv) => this.toKV(kv));
    const result: ListResult = { items, revision: revision || Number(res.header.revision) };
    if (res.more && items.length) {
      result.continue = encodeContinue(result.revision, items[items.length - 1].key);
      result.remaining = Number(res.count) - items.length;
    }
    return result;
  }

  async count(prefix: string): Promise<number> {
    this.check();
    const res = await this.range(this.k(prefix), this.k(prefixEnd(prefix)), { countOnly: true });
    return Number(res.count);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value: Buffer.from(value) } }],
      failure: [],
    });
    if (!res.succeeded) throw new KeyExistsError(key);
    const rev = Number(res.header.revision);
    const kv = { key, value, createRevision: rev, modRevision: rev };
    if (this.caches.size) this.wrote(key, rev, kv);
    return kv;
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
      success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) {
      const cur = res.responses[0]?.response_range?.kvs?.[0];
      if (!cur) throw new NotFoundError(key);
      throw new ConflictError(key, expectedRevision, Number(cur.mod_revision));
    }
    const prev = res.responses[0]?.response_put?.prev_kv;
    const rev = Number(res.header.revision);
    const kv = { key, value, createRevision: prev ? Number(prev.create_revision) : rev, modRevision: rev };
    if (this.caches.size) this.wrote(key, rev, kv);
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    this.check();
    const k = this.k(key);
    const res = await this.client.kv.txn({
      compare: expectedRevision === undefined ? [{ key: k, target: 'Version', result: 'Greater', version: 0 }] : [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) {
      const cur = res.responses[0]?.response_range?.kvs?.[0];
      if (!cur) throw new NotFoundError(key);
      throw new ConflictError(key, expectedRevision ?? 0, Number(cur.mod_revision));
    }
    const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) throw new NotFoundError(key);
    const rev = Number(res.header.revision);
    if (this.caches.size) this.wrote(key, rev);
    return { ...this.toKV(prev), modRevision: rev };
  }

  async watch(prefix: string, revision: number, opts: WatchOptions): Promise<Watcher> {
    this.check();
    const from = revision > 0 ? revision : await this.currentRevision();
    // Range at the start revision first: a compacted revision fails here, synchronously for the caller.
    await this.range(this.k(prefix), this.k(prefixEnd(prefix)), { revision: from, countOnly: true });
    let cancelled = false;
    const w = await this.client
      .watch()
      .prefix(this.keyPrefix + prefix)
      .startRevision(String(from + 1))
      .withPreviousKV()
      .create();
    w.on('put', (kv, prev) => {
      if (cancelled) return;
      const cur = this.toKV(kv);
      opts.onEvent({ type: 'PUT', key: cur.key, revision: cur.modRevision, kv: cur, prev: prev ? this.toKV(prev) : undefined });
    });
    w.on('delete', (kv, prev) => {
      if (cancelled) return;
      const rev = Number(kv.mod_revision);
      const last = prev ? { ...this.toKV(prev), modRevision: rev } : { key: kv.key.toString().slice(this.keyPrefix.length), value: '', createRevision: 0, modRevision: rev };
      opts.onEvent({ type: 'DELETE', key: last.key, revision: rev, kv: last, prev: prev ? this.toKV(prev) : undefined });
    });
    w.on('error', (err) => {
      if (cancelled) return;
      cancelled = true;
      this.watchers.delete(handle);
      opts.onError?.(isCompactedMessage(err) ? new CompactedError(from, this.compactedRev) : err);
    });
    const handle: Watcher = {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        this.watchers.delete(handle);
        void w.cancel().catch(() => undefined);
      },
    };
    this.watchers.add(handle);
    return handle;
  }

  async currentRevision(): Promise<number> {
    this.check();
    const res = await this.range(Buffer.from([0]), undefined, { limit: 1 });
    return Number(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    this.check();
    const target = Math.min(revision, await this.currentRevision());
    if (target <= this.compactedRev) return;
    try {
      await this.client.kv.compact({ revision: target, physical: true });
    } catch (err) {
      if (!isCompactedMessage(err)) throw err;
    }
    this.compactedRev = target;
  }

  async compactedRevision(): Promise<number> {
    this.check();
    return this.compactedRev;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.caches.values()]) c.stop();
    for (const w of [...this.watchers]) w.cancel();
    this.client.close();
  }
}
