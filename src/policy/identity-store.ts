// Cluster-wide identity allocation over a shared key-value store, so every
// agent gives one label set the same number and numbers survive restarts.
// The store needs only create-if-absent (an atomic compare-and-swap against
// "absent"), get, list and delete; an adapter over src/store's Store or the
// API server is a few lines in the agent. Two objects per identity:
//   <prefix>ids/<id>   = label-set key   (claims the number)
//   <prefix>keys/<key> = id              (binds the label set)
// The id object is always claimed before the key object is written, so a key
// object never points at a number claimed for another label set.
import { CLUSTER_IDENTITY_MAX, CLUSTER_IDENTITY_MIN, IdentityExhaustedError, type IdentityAllocator, type PersistedIdentity } from './identity.js';

export interface IdentityStore {
  /** Atomically creates `key` = `value` unless it exists; returns the value now stored. */
  createIfAbsent(key: string, value: string): Promise<{ created: boolean; value: string }>;
  get(key: string): Promise<string | undefined>;
  /** Every key under prefix with its value. */
  list(prefix: string): Promise<{ key: string; value: string }[]>;
  /** Deletes `key` only if it still holds `value`. */
  deleteIfValue(key: string, value: string): Promise<boolean>;
}

/** An IdentityAllocator whose numbers are agreed through an IdentityStore. */
export class StoreIdentityAllocator implements IdentityAllocator {
  private readonly byKey = new Map<string, { id: number; refs: number }>();
  private readonly byId = new Map<number, string>();
  private readonly inflight = new Map<string, Promise<number>>();
  private cursor: number;

  constructor(
    private readonly store: IdentityStore,
    private readonly prefix = '/ebbflow/identities/',
    readonly min = CLUSTER_IDENTITY_MIN,
    readonly max = CLUSTER_IDENTITY_MAX,
  ) {
    this.cursor = min;
  }

  /** Loads every identity already in the store (after a restart). */
  async load(): Promise<PersistedIdentity[]> {
    const out: PersistedIdentity[] = [];
    for (const { key, value } of await this.store.list(`${this.prefix}keys/`)) {
      const id = Number(value);
      const labels = key.slice(`${this.prefix}keys/`.length);
      if (!Number.isInteger(id) || (await this.store.get(this.idKey(id))) !== labels) continue; // half-written: ignore
      this.remember(labels, id, 0);
      out.push({ id, key: labels });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  async acquire(key: string): Promise<number> {
    const known = this.byKey.get(key);
    if (known) {
      known.refs++;
      return known.id;
    }
    // Concurrent acquires of one key in this process share one store round.
    let p = this.inflight.get(key);
    if (!p) {
      p = this.resolve(key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const id = await p;
    const slot = this.byKey.get(key);
    if (slot) slot.refs++;
    else this.remember(key, id, 1);
    return id;
  }

  async release(key: string): Promise<boolean> {
    const slot = this.byKey.get(key);
    if (!slot) return false;
    if (--slot.refs > 0) return false;
    // Only the local reference goes: other agents may still use the number,
    // so deleting the store objects is a cluster-level garbage collector's
    // job (not built yet), never an agent's.
    this.byKey.delete(key);
    this.byId.delete(slot.id);
    return true;
  }

  lookup(key: string): number | undefined {
    return this.byKey.get(key)?.id;
  }

  keyOf(id: number): string | undefined {
    return this.byId.get(id);
  }

  list(): PersistedIdentity[] {
    return [...this.byKey].map(([key, s]) => ({ id: s.id, key })).sort((a, b) => a.id - b.id);
  }

  private async resolve(key: string): Promise<number> {
    const existing = await this.store.get(this.keyKey(key));
    if (existing !== undefined) return Number(existing);
    const span = this.max - this.min + 1;
    for (let tries = 0; tries < span; tries++) {
      const candidate = this.cursor;
      this.cursor = candidate === this.max ? this.min : candidate + 1;
      if (this.byId.has(candidate)) continue;
      const claim = await this.store.createIfAbsent(this.idKey(candidate), key);
      if (!claim.created && claim.value !== key) continue; // number taken by another label set
      const bind = await this.store.createIfAbsent(this.keyKey(key), String(candidate));
      if (bind.created || bind.value === String(candidate)) return candidate;
      // Another agent bound this label set to a different number first: use
      // theirs and give back the number we claimed.
      await this.store.deleteIfValue(this.idKey(candidate), key);
      return Number(bind.value);
    }
    throw new IdentityExhaustedError(this.min, this.max);
  }

  private remember(key: string, id: number, refs: number): void {
    this.byKey.set(key, { id, refs });
    this.byId.set(id, key);
  }

  private idKey(id: number): string {
    return `${this.prefix}ids/${id}`;
  }

  private keyKey(key: string): string {
    return `${this.prefix}keys/${key}`;
  }
}

/** An IdentityStore in memory, for tests and single-process clusters. */
export class MemoryIdentityStore implements IdentityStore {
  readonly data = new Map<string, string>();

  async createIfAbsent(key: string, value: string): Promise<{ created: boolean; value: string }> {
    await Promise.resolve(); // yield, so concurrent callers interleave as over a network
    const cur = this.data.get(key);
    if (cur !== undefined) return { created: false, value: cur };
    this.data.set(key, value);
    return { created: true, value };
  }

  async get(key: string): Promise<string | undefined> {
    await Promise.resolve();
    return this.data.get(key);
  }

  async list(prefix: string): Promise<{ key: string; value: string }[]> {
    return [...this.data].filter(([k]) => k.startsWith(prefix)).map(([key, value]) => ({ key, value }));
  }

  async deleteIfValue(key: string, value: string): Promise<boolean> {
    if (this.data.get(key) !== value) return false;
    this.data.delete(key);
    return true;
  }
}
