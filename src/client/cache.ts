// The informer's local cache: objects by "namespace/name" key with a
// namespace index and any number of custom indexes (index fn -> values).
import type { KubeObject } from '../api/meta.js';

export type IndexFunc<T> = (obj: T) => string[];

/** "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: { metadata: { namespace?: string; name?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata.name ?? '');
}

/** Splits a key into namespace (possibly '') and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export const NAMESPACE_INDEX = 'namespace';

export interface Indexer<T extends KubeObject> {
  get(key: string): T | undefined;
  getBy(namespace: string | undefined, name: string): T | undefined;
  list(): T[];
  keys(): string[];
  byNamespace(namespace: string): T[];
  byIndex(index: string, value: string): T[];
  addIndex(name: string, fn: IndexFunc<T>): void;
  readonly size: number;
}

/** A mutable indexer; informers own writes, readers use the Indexer view. */
export class Cache<T extends KubeObject> implements Indexer<T> {
  private items = new Map<string, T>();
  private indexFns = new Map<string, IndexFunc<T>>();
  // index name -> value -> keys
  private indexes = new Map<string, Map<string, Set<string>>>();

  constructor() {
    this.addIndex(NAMESPACE_INDEX, (o) => [o.metadata.namespace ?? '']);
  }

  get size(): number {
    return this.items.size;
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexFns.has(name)) return;
    this.indexFns.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [k, o] of this.items) this.indexOne(idx, fn, k, o);
  }

  private indexOne(idx: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
    for (const v of fn(obj)) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexFns) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        const s = idx.get(v);
        if (!s) continue;
        s.delete(key);
        if (!s.size) idx.delete(v);
      }
    }
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexFns) this.indexOne(this.indexes.get(name)!, fn, key, obj);
    return old;
  }

  /** Removes by key; returns the removed object. */
  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }
  getBy(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }
  list(): T[] {
    return [...this.items.values()];
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
  byNamespace(namespace: string): T[] {
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }
  byIndex(index: string, value: string): T[] {
    const keys = this.indexes.get(index)?.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.items.get(k)!);
  }
}

/** Index function: the uids of an object's owners. */
export function ownerUidIndex<T extends KubeObject>(obj: T): string[] {
  return (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
}
