// Opens a store from a datastore URL: sqlite://PATH (default) or etcd://h:p[,h:p].
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export * from './errors.js';

export type DatastoreConfig =
  | { kind: 'sqlite'; path: string; synchronous?: 'full' | 'normal' }
  | { kind: 'etcd'; endpoints: string[]; prefix?: string };

/** Parses `sqlite://PATH` or `etcd://h:p[,h:p]`; throws on anything else (a CLI input error). */
export function parseDatastore(url: string): DatastoreConfig {
  if (url.startsWith('sqlite://')) {
    const path = url.slice('sqlite://'.length);
    if (!path) throw new Error(`datastore ${url}: missing path`);
    return { kind: 'sqlite', path };
  }
  if (url.startsWith('etcd://')) {
    const endpoints = url
      .slice('etcd://'.length)
      .split(',')
      .filter(Boolean)
      .map((e) => (e.startsWith('http') ? e : `http://${e}`));
    if (!endpoints.length) throw new Error(`datastore ${url}: no endpoints`);
    return { kind: 'etcd', endpoints };
  }
  throw new Error(`datastore ${url}: expected sqlite://PATH or etcd://host:port`);
}

/** Opens the configured driver. */
export async function openStore(config: DatastoreConfig): Promise<Store> {
  if (config.kind === 'sqlite') return openSqliteStore({ path: config.path, synchronous: config.synchronous });
  const { openEtcdStore } = await import('./etcd.js');
  return openEtcdStore({ endpoints: config.endpoints, prefix: config.prefix });
}
