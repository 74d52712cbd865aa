// Background upkeep of the store: periodic compaction of old revisions and
// expiry of Events past their TTL (as kube-apiserver's --event-ttl does).
import type { Logger } from '../log/logger.js';
import type { Registry } from '../api/registry.js';
import type { Store } from '../store/types.js';
import type { Objects } from './objects.js';

export interface HousekeepingConfig {
  /** Revisions kept for watchers; 0 disables compaction. */
  compactRetainRevisions: number;
  compactIntervalMs: number;
  /** Events older than this (by lastTimestamp/eventTime/creation) are deleted; 0 disables. */
  eventTTLSeconds: number;
  eventSweepIntervalMs: number;
}

/** Starts the periodic jobs; the returned function stops them. */
export function startHousekeeping(store: Store, objects: Objects, registry: Registry, cfg: HousekeepingConfig, log: Logger): () => void {
  const timers: NodeJS.Timeout[] = [];
  if (cfg.compactRetainRevisions > 0) {
    timers.push(
      setInterval(() => {
        store
          .currentRevision()
          .then((rev) => (rev - cfg.compactRetainRevisions > 0 ? store.compact(rev - cfg.compactRetainRevisions) : undefined))
          .catch((err: unknown) => log.warn({ err }, 'compaction failed'));
      }, cfg.compactIntervalMs),
    );
  }
  const events = registry.byPlural('', 'v1', 'events');
  if (cfg.eventTTLSeconds > 0 && events) {
    timers.push(
      setInterval(() => {
        expireEvents(store, objects, cfg.eventTTLSeconds).catch((err: unknown) => log.warn({ err }, 'event expiry failed'));
      }, cfg.eventSweepIntervalMs),
    );
  }
  for (const t of timers) t.unref();
  return () => timers.forEach((t) => clearInterval(t));
}

/** Deletes Events whose newest timestamp is older than ttl; returns how many went. */
export async function expireEvents(store: Store, objects: Objects, ttlSeconds: number, nowMs = Date.now()): Promise<number> {
  const page = await store.list('/registry/core/events/');
  let removed = 0;
  for (const kv of page.items) {
    const e = objects.decode(kv) as { lastTimestamp?: string; eventTime?: string; metadata: { creationTimestamp?: string } };
    const ts = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '');
    if (Number.isNaN(ts) || nowMs - ts < ttlSeconds * 1000) continue;
    try {
      await store.delete(kv.key, kv.modRevision);
      removed++;
    } catch {
      // Changed or gone meanwhile: the next sweep sees its new state.
    }
  }
  return removed;
}
