// Event recorder: writes core/v1 Events about objects, aggregating repeats
// of the same (object, type, reason, message) into one Event whose count
// and lastTimestamp grow, as kubectl describe shows them.
import type { KubeObject } from '../api/meta.js';
import type { Event } from '../api/core.js';
import type { Logger } from '../log/logger.js';
import type { Client } from './client.js';
import { realClock, type Clock } from './clock.js';
import { isNotFound } from './errors.js';
import { resources } from './resources.js';

export interface EventRecorder {
  /** Records an event about obj; the write happens in the background. */
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Resolves when every write queued so far has finished. */
  flush(): Promise<void>;
}

export interface RecorderOptions {
  component: string;
  host?: string;
  clock?: Clock;
  logger?: Logger;
  /** Remembered aggregation keys (default 4096, oldest dropped). */
  cacheSize?: number;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function createEventRecorder(client: Client, opts: RecorderOptions): EventRecorder {
  const clock = opts.clock ?? realClock;
  const seen = new Map<string, { namespace: string; name: string; count: number }>();
  let chain: Promise<void> = Promise.resolve();
  let seq = 0;

  async function write(obj: KubeObject, type: string, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace || 'default';
    const key = [obj.metadata.uid, obj.kind, namespace, obj.metadata.name, type, reason, message].join('\u0000');
    const now = timestamp(clock.now());
    const prev = seen.get(key);
    if (prev) {
      try {
        await client.patch(resources.events, prev.namespace, prev.name, { count: prev.count + 1, lastTimestamp: now }, 'merge');
        prev.count++;
        // Keep recently used keys at the end so eviction drops the oldest.
        seen.delete(key);
        seen.set(key, prev);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        seen.delete(key);
      }
    }
    const name = `${obj.metadata.name}.${(clock.now() * 1000 + (seq++ % 1000)).toString(16)}`;
    const ev: Event = {
      metadata: { name, namespace },
      involvedObject: { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid, apiVersion: obj.apiVersion, resourceVersion: obj.metadata.resourceVersion },
      reason,
      message,
      type: type as Event['type'],
      source: { component: opts.component, ...(opts.host ? { host: opts.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: opts.component,
      reportingInstance: opts.host ?? '',
    };
    await client.create(resources.events, namespace, ev);
    seen.set(key, { namespace, name, count: 1 });
    if (seen.size > (opts.cacheSize ?? 4096)) seen.delete(seen.keys().next().value as string);
  }

  return {
    event(obj, type, reason, message) {
      chain = chain.then(() => write(obj, type, reason, message)).catch((err: unknown) => {
        opts.logger?.warn({ err: String(err), reason }, 'writing event failed');
      });
    },
    flush() {
      return chain;
    },
  };
}
