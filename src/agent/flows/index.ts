// Flow observability for one node, like Hubble for Cilium: the observer
// (events ring buffer -> enriched flows in a bounded ring), the Observer gRPC
// API and Prometheus metrics. startFlows wires the three; each also starts alone.
import type { Logger } from '../../log/logger.js';
import { startFlowMetrics, type FlowMetricsConfig, type FlowMetricsHandle } from './metrics.js';
import { startFlowObserver, type FlowObserver, type FlowObserverConfig } from './observer.js';
import { startFlowServer, type FlowServerHandle } from './server.js';

export * from './types.js';
export * from './directory.js';
export { compileFilter, compileFilters, FilterError, parseLabelSelector, type FlowFilter } from './filter.js';
export { historyFlows, streamFlows, type FlowItem, type FlowQuery } from './query.js';
export { FlowRing, DEFAULT_RING_CAPACITY } from './ring.js';
export { startFlowObserver, type FlowObserver, type FlowObserverConfig, type ObserverStatus } from './observer.js';
export { startFlowServer, DEFAULT_FLOW_SERVER_ADDRESS, type FlowServerConfig, type FlowServerHandle } from './server.js';
export { startFlowMetrics, createFlowRegistry, DEFAULT_METRICS_ADDRESS, type FlowMetricsConfig, type FlowMetricsHandle } from './metrics.js';
export { connectObserver, type ObserverClient } from './client.js';
export { applyTraceSampling, parseTraceSampling, readTraceSampling, TraceSamplingError, type TraceSampling } from './sampling.js';

export interface FlowsConfig extends FlowObserverConfig {
  /** gRPC listen address (default 127.0.0.1:4245); null: no gRPC server. */
  grpcAddress?: string | null;
  /** /metrics listen address (default 127.0.0.1:9964); null: no metrics server. */
  metricsAddress?: string | null;
  metrics?: Omit<FlowMetricsConfig, 'observer' | 'address' | 'logger'>;
  logger?: Logger;
}

export interface FlowsHandle {
  readonly observer: FlowObserver;
  readonly server?: FlowServerHandle;
  readonly metrics?: FlowMetricsHandle;
  stop(): Promise<void>;
}

/** Starts observer, gRPC server and metrics; on failure stops what it started. */
export async function startFlows(config: FlowsConfig): Promise<FlowsHandle> {
  const observer = await startFlowObserver(config);
  let server: FlowServerHandle | undefined;
  let metrics: FlowMetricsHandle | undefined;
  const stop = async () => {
    await metrics?.stop();
    await server?.stop();
    observer.stop();
  };
  try {
    if (config.grpcAddress !== null) server = await startFlowServer({ observer, address: config.grpcAddress, logger: config.logger });
    if (config.metricsAddress !== null) {
      metrics = await startFlowMetrics({ ...config.metrics, observer, address: config.metricsAddress, logger: config.logger });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { observer, server, metrics, stop };
}
