// Keeps the dataplane's service table converged with the API server's
// Services and EndpointSlices (and, with NodePort on, the Nodes whose
// InternalIPs NodePorts are reachable at): level-triggered, every change
// schedules a full sync from the informer caches (cheap: the table writes
// only diffs).
import type { KubeObject } from '../api/meta.js';
import type { InformerFactory } from '../client/factory.js';
import { resources } from '../client/resources.js';
import type { EndpointSliceShape, ServiceShape } from '../dataplane/lb-model.js';
import { nodeInternalIPs, type NodeShape } from '../dataplane/lb-nodeport.js';
import type { ServiceTable, SyncStats } from '../dataplane/service-table.js';
import type { Logger } from '../log/logger.js';
import { debounce, type Debounced } from './debounce.js';

export interface ServiceSyncConfig {
  informers: InformerFactory;
  table: ServiceTable;
  logger: Logger;
  /** Program NodePort frontends for this node; its own IP counts before its Node object lists it. */
  nodePort?: { node: string; nodeIP: string };
  /** Coalescing delay for bursts of changes (default 5 ms). */
  delayMs?: number;
  onSynced?: (stats: SyncStats) => void;
}

export interface ServiceSyncHandle {
  /** Resolves once the maps reflect every change seen so far. */
  idle(): Promise<void>;
  stop(): void;
}

export async function startServiceSync(config: ServiceSyncConfig): Promise<ServiceSyncHandle> {
  const services = config.informers.get<KubeObject>(resources.services);
  const slices = config.informers.get<KubeObject>(resources.endpointslices);
  const np = config.nodePort;
  const nodes = np ? config.informers.get<KubeObject>(resources.nodes) : undefined;
  const nodeIPs = (): string[] => {
    const ips = nodeInternalIPs((nodes?.store.list() ?? []) as unknown as NodeShape[]);
    if (np && !ips.includes(np.nodeIP)) ips.push(np.nodeIP);
    return ips.sort();
  };
  let lastNodeIPs = '';
  const job: Debounced = debounce(async () => {
    if (np) config.table.setNodePortScope({ node: np.node, nodeIPs: nodeIPs() });
    const stats = await config.table.fullSync(
      services.store.list() as unknown as ServiceShape[],
      slices.store.list() as unknown as EndpointSliceShape[],
    );
    config.onSynced?.(stats);
  }, config.delayMs ?? 5, (err) => config.logger.error({ err: (err as Error).message }, 'service sync failed; will retry on the next change'));
  const kick = { add: () => job.request(), update: () => job.request(), delete: () => job.request() };
  const unsubs = [services.on(kick), slices.on(kick)];
  // Node objects change with every status update: resync only when the set of InternalIPs does.
  const nodeKick = () => {
    const ips = nodeIPs().join(',');
    if (ips === lastNodeIPs) return;
    lastNodeIPs = ips;
    job.request();
  };
  if (nodes) unsubs.push(nodes.on({ add: nodeKick, update: nodeKick, delete: nodeKick }));
  config.informers.start();
  await Promise.all([services.waitForSync(), slices.waitForSync(), nodes?.waitForSync()]);
  job.request();
  await job.idle();
  return {
    idle: () => job.idle(),
    stop() {
      for (const u of unsubs) u();
      job.stop();
    },
  };
}
