// API server metrics (Prometheus text on /metrics), one registry per server
// instance: request counts and latencies by verb, resource and code, open
// watches, and the store revision.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/types.js';

export interface ApiMetrics {
  registry: Registry;
  observe(verb: string, resource: string, code: number, seconds: number): void;
  watchOpened(resource: string): void;
  watchClosed(resource: string): void;
}

/** Creates the metrics of one API server. */
export function createMetrics(store: Store): ApiMetrics {
  const registry = new Registry();
  const requests = new Counter({ name: 'apiserver_request_total', help: 'API requests by verb, resource and HTTP code.', labelNames: ['verb', 'resource', 'code'], registers: [registry] });
  const latency = new Histogram({ name: 'apiserver_request_duration_seconds', help: 'API request latency (watches excluded).', labelNames: ['verb', 'resource'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });
  const watches = new Gauge({ name: 'apiserver_longrunning_requests', help: 'Open watch streams by resource.', labelNames: ['resource'], registers: [registry] });
  new Gauge({
    name: 'ebbflow_store_revision',
    help: 'Current revision of the datastore.',
    registers: [registry],
    async collect() {
      this.set(await store.currentRevision().catch(() => 0));
    },
  });
  return {
    registry,
    observe(verb, resource, code, seconds) {
      requests.inc({ verb, resource, code: String(code) });
      if (verb !== 'watch') latency.observe({ verb, resource }, seconds);
    },
    watchOpened: (resource) => watches.inc({ resource }),
    watchClosed: (resource) => watches.dec({ resource }),
  };
}
