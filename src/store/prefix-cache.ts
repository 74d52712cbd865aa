// A watch-fed read cache of one key prefix (an informer inside the store):
// one list, then a watch from the list's revision. The owning driver also
// applies its own acknowledged writes, so a reader in this process sees them
// before the watch event arrives. Entries only ever move forward in revision.
import type { KeyValue, Store, Watcher } from './types.js';

interface Entry {
  rev: number;
  /** Undefined: deleted at rev (kept until the watch delivers that delete). */
  kv?: KeyValue;
}

export class PrefixCache {
  private entries = new Map<string, Entry>();
  private synced = false;
  private stopped = false;
  private watcher?: Watcher;

  constructor(readonly prefix: string, private store: Pick<Store, 'list' | 'watch'>, private onStop: () => void) {}

  /** Lists and starts watching; on failure the cache stops (the owner drops it and may start another). */
  async start(): Promise<void> {
    try {
      const page = await this.store.list(this.prefix);
      for (const kv of page.items) this.apply(kv.key, kv.modRevision, kv);
      const w = await this.store.watch(this.prefix, page.revision, {
        onEvent: (ev) => {
          if (ev.type === 'PUT') return this.apply(ev.key, ev.revision, ev.kv);
          // The watch has reached this delete: no older event can follow, so the tombstone can go.
          const e = this.entries.get(ev.key);
          if (!e || e.rev <= ev.revision) this.entries.delete(ev.key);
        },
        onError: () => this.stop(),
      });
      if (this.stopped) return w.cancel();
      this.watcher = w;
      this.synced = true;
    } catch {
      this.stop();
    }
  }

  /** Records a write at rev (kv undefined: a delete); older information never replaces newer. */
  apply(key: string, rev: number, kv?: KeyValue): void {
    if (this.stopped) return;
    const e = this.entries.get(key);
    if (e && e.rev >= rev) return;
    this.entries.set(key, { rev, kv });
  }

  /** The live value when the cache is synced and holds one; undefined otherwise (the caller reads live). */
  peek(key: string): KeyValue | undefined {
    return this.synced ? this.entries.get(key)?.kv : undefined;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.synced = false;
    this.entries.clear();
    this.watcher?.cancel();
    this.onStop();
  }
}
