// Keeps the dataplane's service table converged with the API server's
// Services and EndpointSlices: level-triggered, every change schedules a
// full sync from the informer caches (cheap: the table writes only diffs).
import type { KubeObject } from '../api/meta.js';
import type { InformerFactory } from '../client/factory.js';
import { resources } from '../client/resources.js';
import type { EndpointSliceShape, ServiceShape } from '../dataplane/lb-model.js';
import type { ServiceTable, SyncStats } from '../dataplane/service-table.js';
import type { Logger } from '../log/logger.js';
import { debounce, type Debounced } from './debounce.js';

export interface ServiceSyncConfig {
  informers: InformerFactory;
  table: ServiceTable;
  logger: Logger;
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
  const job: Debounced = debounce(async () => {
    const stats = await config.table.fullSync(
      services.store.list() as unknown as ServiceShape[],
      slices.store.list() as unknown as EndpointSliceShape[],
    );
    config.onSynced?.(stats);
  }, config.delayMs ?? 5, (err) => config.logger.error({ err: (err as Error).message }, 'service sync failed; will retry on the next change'));
  const kick = { add: () => job.request(), update: () => job.request(), delete: () => job.request() };
  const unsubs = [services.on(kick), slices.on(kick)];
  config.informers.start();
  await Promise.all([services.waitForSync(), slices.waitForSync()]);
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
