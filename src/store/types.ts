// The Store contract: a revisioned key-value log with watch, shared by every
// driver (sqlite, etcd). One global revision numbers every write; an object's
// modRevision is its Kubernetes resourceVersion.

export interface KeyValue {
  key: string;
  /** Opaque value text (the API server stores JSON). */
  value: string;
  createRevision: number;
  modRevision: number;
}

export interface ListOptions {
  /** Read at this revision (0/undefined = current). Older than compaction -> CompactedError. */
  revision?: number;
  /** At most this many items (0/undefined = all). */
  limit?: number;
  /** Token from a previous page; implies that page's revision. */
  continue?: string;
}

export interface ListResult {
  items: KeyValue[];
  /** Revision the list was read at. */
  revision: number;
  /** Set when more items remain. */
  continue?: string;
  /** Items after this page, when more remain. */
  remaining?: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  /** Revision of this event. */
  revision: number;
  /** New value (PUT) or last value (DELETE). */
  kv: KeyValue;
  /** Value before this event, if the key existed. */
  prev?: KeyValue;
}

export interface Watcher {
  /** Stops delivery; idempotent. */
  cancel(): void;
}

export interface WatchOptions {
  /** Receives events in revision order, after `revision`. */
  onEvent(event: WatchEvent): void;
  /** Called once if the watch fails after it started (e.g. store closed). */
  onError?(err: Error): void;
}

export interface Store {
  /** Latest live value, or NotFoundError. */
  get(key: string): Promise<KeyValue>;
  /**
   * Optional fast read: the value of key from a watch-fed cache of prefix
   * (started on first use), reflecting this store's own acknowledged writes at
   * once and other writers' after the watch delivers them. Undefined when the
   * cache cannot vouch for a live value (not synced, absent, deleted): the
   * caller then reads with get. Drivers whose get is already local omit it.
   */
  cached?(key: string, prefix: string): KeyValue | undefined;
  /** Live keys under prefix, sorted by key, at a revision, paginated. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of live keys under prefix now. */
  count(prefix: string): Promise<number>;
  /** Creates key; KeyExistsError when live. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Replaces key if its modRevision equals expected; ConflictError/NotFoundError otherwise. */
  update(key: string, value: string, expectedRevision: number): Promise<KeyValue>;
  /** Deletes key (if expectedRevision given, only at that revision); returns the last value. */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;
  /** Delivers every event under prefix with revision > `revision`; CompactedError if too old. */
  watch(prefix: string, revision: number, opts: WatchOptions): Promise<Watcher>;
  /** Current (highest) revision. */
  currentRevision(): Promise<number>;
  /** Drops history at and below revision (keeping live values); watches/lists older fail. */
  compact(revision: number): Promise<void>;
  /** Highest compacted revision (0 if never). */
  compactedRevision(): Promise<number>;
  close(): Promise<void>;
}

/** Continue tokens: the revision of the first page and the last key returned. */
export function encodeContinue(revision: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ r: revision, k: lastKey })).toString('base64url');
}

/** Parses a continue token; undefined when malformed. */
export function decodeContinue(token: string): { revision: number; lastKey: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { r?: unknown; k?: unknown };
    if (typeof v.r === 'number' && Number.isInteger(v.r) && v.r > 0 && typeof v.k === 'string') return { revision: v.r, lastKey: v.k };
  } catch {
    /* fall through */
  }
  return undefined;
}

/** The smallest string greater than every string starting with prefix (keys are ASCII). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return '\u007f';
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
