// List+watch informer: lists a collection, then watches from the list's
// resourceVersion (with bookmarks), keeps a Cache, tells handlers about
// adds/updates/deletes, resyncs periodically, relists on 410 Gone and
// reconnects with bounded back-off. Stop with stop() or an AbortSignal.
import type { KubeObject, Status } from '../api/meta.js';
import type { Logger } from '../log/logger.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { Cache, objectKey, type Indexer } from './cache.js';
import type { Client } from './client.js';
import { realClock, sleep, type Clock } from './clock.js';
import { ClientError, isGone } from './errors.js';
import type { ResourceType } from './resources.js';
import { watch } from './watch.js';

export interface EventHandler<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  /** Called with the last known state. */
  delete?(obj: T): void;
}

export interface Informer<T extends KubeObject> {
  readonly resource: ResourceType;
  readonly store: Indexer<T>;
  /** Registers handlers; existing cache contents are replayed as adds. Returns an unsubscribe function. */
  on(handler: EventHandler<T>): () => void;
  start(): void;
  hasSynced(): boolean;
  /** Resolves after the first list has filled the cache (or on stop). */
  waitForSync(): Promise<void>;
  /** The resourceVersion the next watch resumes from. */
  readonly resourceVersion: string;
  stop(): Promise<void>;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Replays every cached object as an update this often (0 disables, the default). */
  resyncMs?: number;
  /** Page size of lists (default 500). */
  pageSize?: number;
  backoff?: BackoffOptions;
  clock?: Clock;
  signal?: AbortSignal;
  logger?: Logger;
  /** Server-side timeout of each watch request (default 300 s). */
  watchTimeoutSeconds?: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 30_000, jitter: 0.2 };

/** Creates an informer; call start() to begin listing. */
export function makeInformer<T extends KubeObject>(client: Client, rt: ResourceType, opts: InformerOptions = {}): Informer<T> {
  const clock = opts.clock ?? realClock;
  const cache = new Cache<T>();
  const handlers = new Set<EventHandler<T>>();
  const abort = new AbortController();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
  let rv = '';
  let synced = false;
  let started = false;
  let running: Promise<void> | undefined;
  let syncWaiters: (() => void)[] = [];
  let cancelResync: (() => void) | undefined;

  const emit = (f: (h: EventHandler<T>) => void) => {
    for (const h of [...handlers]) {
      try {
        f(h);
      } catch (err) {
        opts.logger?.error({ err: String(err), resource: rt.plural }, 'informer handler threw');
      }
    }
  };

  const apply = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => {
    if (type === 'DELETED') {
      const old = cache.remove(objectKey(obj));
      emit((h) => h.delete?.(old ?? obj));
      return;
    }
    const old = cache.upsert(obj);
    if (old) emit((h) => h.update?.(old, obj));
    else emit((h) => h.add?.(obj));
  };

  async function list(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let listRv = '';
    do {
      const page = await client.list<T>(rt, opts.namespace, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.pageSize ?? 500, continue: cont, signal: abort.signal });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      listRv = page.metadata.resourceVersion ?? listRv;
    } while (cont);
    // Replace: diff the new list against the cache so handlers see what changed while we were away.
    const seen = new Set<string>();
    for (const o of items) {
      const key = objectKey(o);
      seen.add(key);
      const old = cache.get(key);
      if (old && old.metadata.resourceVersion === o.metadata.resourceVersion) continue;
      apply('MODIFIED', o);
    }
    for (const key of cache.keys()) if (!seen.has(key)) apply('DELETED', cache.get(key)!);
    rv = listRv;
    if (!synced) {
      synced = true;
      const w = syncWaiters;
      syncWaiters = [];
      for (const f of w) f();
    }
  }

  /** Watches until the stream ends (returns) or fails (throws; a 410 throws CLIENT_ERR_GONE). */
  async function watchOnce(): Promise<void> {
    const events = watch<T>(client.transport, rt, opts.namespace, {
      resourceVersion: rv,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      allowWatchBookmarks: true,
      timeoutSeconds: opts.watchTimeoutSeconds ?? 300,
      signal: abort.signal,
    });
    for await (const ev of events) {
      if (ev.type === 'ERROR') {
        const st = ev.object as Status;
        throw new ClientError(st.code === 410 ? 'CLIENT_ERR_GONE' : 'CLIENT_ERR_HTTP', `watch ${rt.plural}: ${st.message ?? 'error'}`, st.code, st);
      }
      const obj = ev.object as T;
      if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
      backoff.reset();
      if (ev.type === 'BOOKMARK') continue;
      apply(ev.type, obj);
    }
  }

  async function run(): Promise<void> {
    let needList = true;
    while (!abort.signal.aborted) {
      try {
        if (needList) {
          await list();
          needList = false;
          backoff.reset();
        }
        if (abort.signal.aborted) break;
        await watchOnce();
      } catch (err) {
        if (abort.signal.aborted) break;
        if (isGone(err)) {
          opts.logger?.info({ resource: rt.plural, rv }, 'watch expired, relisting');
          needList = true;
          continue;
        }
        const delay = backoff.next();
        opts.logger?.warn({ resource: rt.plural, err: String(err), delay }, 'list/watch failed, retrying');
        await sleep(clock, delay, abort.signal);
      }
    }
  }

  function scheduleResync(): void {
    const ms = opts.resyncMs ?? 0;
    if (!ms || abort.signal.aborted) return;
    cancelResync = clock.setTimeout(() => {
      if (synced) for (const o of cache.list()) emit((h) => h.update?.(o, o));
      scheduleResync();
    }, ms);
  }

  return {
    resource: rt,
    store: cache,
    get resourceVersion() {
      return rv;
    },
    on(handler) {
      handlers.add(handler);
      if (handler.add) for (const o of cache.list()) handler.add(o);
      return () => handlers.delete(handler);
    },
    start() {
      if (started) return;
      started = true;
      running = run();
      scheduleResync();
    },
    hasSynced: () => synced,
    waitForSync() {
      if (synced || abort.signal.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        syncWaiters.push(resolve);
        abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    async stop() {
      abort.abort();
      cancelResync?.();
      await running;
    },
  };
}
