// Watch: streams ADDED/MODIFIED/DELETED/BOOKMARK events as JSON lines over a
// chunked response, from a resourceVersion (or a synthetic initial list),
// applying selectors to old and new states so objects enter and leave the view.
import type { ServerResponse } from 'node:http';
import type { KubeObject, WatchEventObject } from '../api/meta.js';
import { apiVersionOf, type ResourceInfo } from '../api/registry.js';
import { isStoreError } from '../store/errors.js';
import type { Store, WatchEvent, Watcher } from '../store/types.js';
import { ApiError, errors, toStatus } from './errors.js';
import type { Objects } from './objects.js';
import { parseBool, parseFilter, parseIntParam, parseResourceVersion } from './query.js';

const MAX_BUFFERED = 16 * 1024 * 1024;

export interface WatchContext {
  store: Store;
  objects: Objects;
  bookmarkIntervalMs: number;
  /** Converts an object to its wire form (e.g. a one-row Table). */
  render(o: KubeObject): unknown;
  /** Registered so server stop can end open watches. */
  track(end: () => void): () => void;
}

/** Serves one watch request; resolves when the stream ends. */
export async function serveWatch(ctx: WatchContext, info: ResourceInfo, ns: string | undefined, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const filter = parseFilter(info, q);
  const rv = parseResourceVersion(q);
  const timeout = parseIntParam(q, 'timeoutSeconds');
  const bookmarks = parseBool(q, 'allowWatchBookmarks');
  const prefix = ctx.objects.prefix(info, ns);
  const gv = apiVersionOf(info);

  // WatchList (sendInitialEvents): the current state as ADDED events, then a bookmark marking its end.
  const initialEvents = parseBool(q, 'sendInitialEvents');
  if (initialEvents && (!bookmarks || q.get('resourceVersionMatch') !== 'NotOlderThan')) {
    throw errors.badRequest('sendInitialEvents requires allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan');
  }
  const initial: KubeObject[] = [];
  let from = rv ?? 0;
  if (!rv || initialEvents) {
    const page = await ctx.store.list(prefix);
    from = page.revision;
    for (const kv of page.items) {
      const o = ctx.objects.decode(kv);
      if (filter.matches(o)) initial.push(o);
    }
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  const send = (e: WatchEventObject<unknown>) => {
    if (res.writableEnded) return;
    // A client that stops reading must not grow our memory without bound: end its watch; it will relist.
    if (res.writableLength > MAX_BUFFERED) return end();
    res.write(JSON.stringify(e) + '\n');
  };
  const withType = (o: KubeObject) => {
    o.apiVersion ??= gv;
    o.kind ??= info.kind;
    return o;
  };

  let lastRev = from;
  let watcher: Watcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const end = () => {
    watcher?.cancel();
    clearTimeout(timer);
    clearInterval(bookmarkTimer);
    if (!res.writableEnded) res.end();
    done();
  };
  const untrack = ctx.track(end);
  res.on('close', end);

  for (const o of initial) send({ type: 'ADDED', object: ctx.render(withType(o)) as KubeObject });
  if (initialEvents) {
    send({ type: 'BOOKMARK', object: { kind: info.kind, apiVersion: gv, metadata: { resourceVersion: String(from), annotations: { 'k8s.io/initial-events-end': 'true' } } } as KubeObject });
  }

  const onEvent = (ev: WatchEvent) => {
    // A resourceVersion ahead of the store: only changes after it are sent.
    if (ev.revision <= from) return;
    lastRev = ev.revision;
    const cur = ctx.objects.decode(ev.kv);
    if (ev.type === 'DELETE') {
      cur.metadata.resourceVersion = String(ev.revision);
      if (filter.matches(cur)) send({ type: 'DELETED', object: ctx.render(withType(cur)) as KubeObject });
      return;
    }
    const prev = ev.prev ? ctx.objects.decode(ev.prev) : undefined;
    const now = filter.matches(cur);
    const before = prev ? filter.matches(prev) : false;
    if (now && before) send({ type: 'MODIFIED', object: ctx.render(withType(cur)) as KubeObject });
    else if (now) send({ type: 'ADDED', object: ctx.render(withType(cur)) as KubeObject });
    else if (before) send({ type: 'DELETED', object: ctx.render(withType(cur)) as KubeObject });
  };

  try {
    watcher = await ctx.store.watch(prefix, from, {
      onEvent,
      onError: () => end(),
    });
  } catch (err) {
    if (isStoreError(err, 'COMPACTED')) {
      const e = err as unknown as { requested: number; compacted: number };
      send({ type: 'ERROR', object: toStatus(errors.gone(`too old resource version: ${e.requested} (${e.compacted})`)) });
    } else {
      send({ type: 'ERROR', object: toStatus(new ApiError(500, 'InternalError', `watch failed: ${(err as Error).message}`)) });
    }
    end();
    untrack();
    return finished;
  }
  if (res.writableEnded) watcher.cancel();
  const seconds = timeout !== undefined && timeout > 0 ? timeout : 1800;
  timer = setTimeout(end, seconds * 1000);
  if (bookmarks) {
    bookmarkTimer = setInterval(() => {
      send({ type: 'BOOKMARK', object: { kind: info.kind, apiVersion: gv, metadata: { resourceVersion: String(lastRev) } } as KubeObject });
    }, ctx.bookmarkIntervalMs);
  }
  await finished;
  untrack();
}
