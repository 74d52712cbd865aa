// Shared informers: one list+watch per resource for all controllers of a
// process, started together and stopped together.
import type { KubeObject } from '../api/meta.js';
import type { Logger } from '../log/logger.js';
import type { Client } from './client.js';
import type { Clock } from './clock.js';
import { makeInformer, type Informer } from './informer.js';
import type { ResourceType } from './resources.js';

export interface InformerFactory {
  readonly client: Client;
  /** The shared informer for a resource (created on first use, cluster-wide). */
  get<T extends KubeObject>(rt: ResourceType): Informer<T>;
  /** Starts every informer created so far (later ones start on creation). */
  start(): void;
  waitForSync(): Promise<void>;
  stop(): Promise<void>;
}

export interface FactoryOptions {
  resyncMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export function createInformerFactory(client: Client, opts: FactoryOptions = {}): InformerFactory {
  const informers = new Map<string, Informer<KubeObject>>();
  let started = false;
  return {
    client,
    get<T extends KubeObject>(rt: ResourceType): Informer<T> {
      const key = `${rt.group}/${rt.plural}`;
      let inf = informers.get(key);
      if (!inf) {
        inf = makeInformer<KubeObject>(client, rt, { resyncMs: opts.resyncMs, clock: opts.clock, logger: opts.logger });
        informers.set(key, inf);
        if (started) inf.start();
      }
      return inf as unknown as Informer<T>;
    },
    start() {
      started = true;
      for (const i of informers.values()) i.start();
    },
    async waitForSync() {
      await Promise.all([...informers.values()].map((i) => i.waitForSync()));
    },
    async stop() {
      await Promise.all([...informers.values()].map((i) => i.stop()));
    },
  };
}
