// Feeds NetworkPolicies, Pods and Namespaces from the API server into the
// policy sync for this node's endpoints; every change recompiles from the
// informer caches (level-triggered) and writes only the differences.
import type { KubeObject } from '../api/meta.js';
import type { InformerFactory } from '../client/factory.js';
import { resources } from '../client/resources.js';
import type { Logger } from '../log/logger.js';
import type { ClusterState } from '../policy/types.js';
import { debounce, type Debounced } from './debounce.js';
import type { LocalEndpoint, PolicySync, PolicySyncStats } from './policy-sync.js';

export interface PolicyWatchConfig {
  informers: InformerFactory;
  sync: PolicySync;
  /** This node's endpoints right now (from the CNI server's registry). */
  localEndpoints: () => LocalEndpoint[];
  logger: Logger;
  delayMs?: number;
  onSynced?: (stats: PolicySyncStats) => void;
}

export interface PolicyWatchHandle {
  /** Schedules a recompile (e.g. after a local endpoint was added). */
  kick(): void;
  idle(): Promise<void>;
  stop(): void;
}

export async function startPolicyWatch(config: PolicyWatchConfig): Promise<PolicyWatchHandle> {
  const policies = config.informers.get<KubeObject>(resources.networkpolicies);
  const pods = config.informers.get<KubeObject>(resources.pods);
  const namespaces = config.informers.get<KubeObject>(resources.namespaces);
  const job: Debounced = debounce(async () => {
    const state = {
      policies: policies.store.list(),
      pods: pods.store.list(),
      namespaces: namespaces.store.list(),
    } as unknown as ClusterState;
    const stats = await config.sync.sync(state, config.localEndpoints());
    config.onSynced?.(stats);
  }, config.delayMs ?? 5, (err) => config.logger.error({ err: (err as Error).message }, 'policy sync failed; will retry on the next change'));
  const kick = { add: () => job.request(), update: () => job.request(), delete: () => job.request() };
  const unsubs = [policies.on(kick), pods.on(kick), namespaces.on(kick)];
  config.informers.start();
  await Promise.all([policies.waitForSync(), pods.waitForSync(), namespaces.waitForSync()]);
  job.request();
  await job.idle();
  return {
    kick: () => job.request(),
    idle: () => job.idle(),
    stop() {
      for (const u of unsubs) u();
      job.stop();
    },
  };
}
