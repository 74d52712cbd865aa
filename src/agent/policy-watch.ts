// Feeds NetworkPolicies, Pods and Namespaces from the API server into the
// policy sync for this node's endpoints; every change syncs from the
// informer caches (level-triggered; the compile itself is incremental) and
// writes only the differences.
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
  /** Pause before a sync requested while another was running (coalesces bursts); default 5 ms. */
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
  // Lists are taken again only after an event of their kind: the same
  // array tells the incremental compiler that nothing of that kind changed.
  let lists: ClusterState | undefined;
  const stale = { policies: true, pods: true, namespaces: true };
  const job: Debounced = debounce(async () => {
    const state = {
      policies: stale.policies || !lists ? policies.store.list() : lists.policies,
      pods: stale.pods || !lists ? pods.store.list() : lists.pods,
      namespaces: stale.namespaces || !lists ? namespaces.store.list() : lists.namespaces,
    } as unknown as ClusterState;
    lists = state;
    stale.policies = stale.pods = stale.namespaces = false;
    try {
      const stats = await config.sync.sync(state, config.localEndpoints());
      config.onSynced?.(stats);
    } catch (err) {
      lists = undefined; // retry from fresh lists
      throw err;
    }
  }, config.delayMs ?? 5, (err) => config.logger.error({ err: (err as Error).message }, 'policy sync failed; will retry on the next change'), { leading: true });
  const kick = (kind: keyof typeof stale) => {
    const request = () => {
      stale[kind] = true;
      job.request();
    };
    return { add: request, update: request, delete: request };
  };
  const unsubs = [policies.on(kick('policies')), pods.on(kick('pods')), namespaces.on(kick('namespaces'))];
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
