// Prometheus metrics of the flow observer on an HTTP /metrics endpoint.
// Labels are bounded sets (flow type, verdict, protocol, drop reason,
// direction, path, stage), never addresses or pod names.
import { mapFullCounts } from '../../dataplane/typed-map.js';
import { createServer, type Server } from 'node:http';
import client from 'prom-client';
import type { Logger } from '../../log/logger.js';
import type { FlowObserver } from './observer.js';
import { tallyFlows, type FlowTally } from './tally.js';
import { LOST_STAGES, type Flow } from './types.js';

export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9964';

export interface FlowMetricsConfig {
  /** onTally counts batches without building flows; an observer with onFlows only is counted from its flows. */
  observer: Pick<FlowObserver, 'onFlows' | 'lost' | 'kernelCounters' | 'services'> & Partial<Pick<FlowObserver, 'onTally'>>;
  /** host:port of the HTTP listener; default 127.0.0.1:9964 (port 0 picks one). */
  address?: string;
  /** Services and backends for the gauges; default the observer's service directory counts. */
  serviceCounts?: () => { services: number; backends: number };
  /** Counts conntrack entries (a map walk); called at most every conntrackSampleMs. */
  conntrackEntries?: () => number;
  conntrackSampleMs?: number;
  /** prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
  logger?: Logger;
}

export interface FlowMetricsHandle {
  readonly address: string;
  readonly port: number;
  readonly registry: client.Registry;
  stop(): Promise<void>;
}

/** A counter mirroring an absolute value read elsewhere (a kernel or addon counter). */
function mirror(c: client.Counter<string>, labels: Record<string, string>, last: Map<string, number>, value: number): void {
  const key = JSON.stringify(labels);
  const prev = last.get(key) ?? 0;
  if (value < prev) {
    // The source restarted (map recreated): start over from its value.
    c.remove(labels);
    c.inc(labels, value);
  } else if (value > prev) {
    c.inc(labels, value - prev);
  } else if (!last.has(key)) {
    c.inc(labels, 0);
  }
  last.set(key, value);
}

/** Builds the registry for an observer (without serving it). */
export function createFlowRegistry(config: FlowMetricsConfig): { registry: client.Registry; detach: () => void } {
  const { observer } = config;
  const registry = new client.Registry();
  if (config.defaultMetrics !== false) {
    client.collectDefaultMetrics({ register: registry });
    // Gauges named *_total break Prometheus naming (promtool flags them); the
    // same values stay available per type as nodejs_active_{handles,requests,resources}.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(n);
    }
  }

  const flows = new client.Counter({
    name: 'ebbflow_flows_processed_total',
    help: 'Flows the agent decoded from the dataplane, by flow type, verdict and protocol.',
    labelNames: ['type', 'verdict', 'protocol'] as const,
    registers: [registry],
  });
  const drops = new client.Counter({
    name: 'ebbflow_drops_total',
    help: 'Dropped or refused packets and connections seen as flows, by drop reason and direction.',
    labelNames: ['reason', 'direction'] as const,
    registers: [registry],
  });
  const verdicts = new client.Counter({
    name: 'ebbflow_policy_verdicts_total',
    help: 'Network policy verdicts on new connections, by direction and verdict.',
    labelNames: ['direction', 'verdict'] as const,
    registers: [registry],
  });
  const kernelLast = new Map<string, number>();
  new client.Counter({
    name: 'ebbflow_service_translations_total',
    help: 'Service address translations of new connections by the dataplane (kernel counters), by path.',
    labelNames: ['path'] as const,
    registers: [registry],
    collect() {
      const k = observer.kernelCounters();
      mirror(this, { path: 'socket' }, kernelLast, k.socketTranslations);
      mirror(this, { path: 'tc' }, kernelLast, k.tcTranslations);
    },
  });
  const lostLast = new Map<string, number>();
  new client.Counter({
    name: 'ebbflow_lost_events_total',
    help: 'Flow events lost before a reader saw them, by stage (kernel ring full, addon queue full, undecodable, follower lapped).',
    labelNames: ['stage'] as const,
    registers: [registry],
    collect() {
      const lost = observer.lost();
      for (const stage of LOST_STAGES) mirror(this, { stage }, lostLast, lost[stage]);
    },
  });
  const counts = config.serviceCounts ?? (() => observer.services.counts?.() ?? { services: 0, backends: 0 });
  new client.Gauge({
    name: 'ebbflow_services',
    help: 'Services the node load-balances.',
    registers: [registry],
    collect() {
      this.set(counts().services);
    },
  });
  new client.Gauge({
    name: 'ebbflow_service_backends',
    help: 'Backends of the services the node load-balances.',
    registers: [registry],
    collect() {
      this.set(counts().backends);
    },
  });
  if (config.conntrackEntries) {
    const sample = config.conntrackEntries;
    const every = config.conntrackSampleMs ?? 5000;
    let at = -Infinity;
    let value = 0;
    new client.Gauge({
      name: 'ebbflow_conntrack_entries',
      help: 'Entries in the dataplane connection tracking map (sampled).',
      registers: [registry],
      collect() {
        const now = performance.now();
        if (now - at >= every) {
          value = sample();
          at = now;
        }
        this.set(value);
      },
    });
  }

  // Writes refused because a BPF map was full (per map; dataplane/typed-map.ts).
  const fullLast = new Map<string, number>();
  new client.Counter({
    name: 'ebbflow_map_full_errors_total',
    help: 'Writes to a BPF map that failed because the map was full, by map.',
    labelNames: ['map'],
    registers: [registry],
    collect() {
      for (const [map, n] of mapFullCounts()) {
        const prev = fullLast.get(map) ?? 0;
        if (n > prev) this.inc({ map }, n - prev);
        fullLast.set(map, n);
      }
    },
  });

  // One inc per label set and batch (prom-client hashes the labels on every inc).
  const count = (t: FlowTally) => {
    for (const x of t.flows) flows.inc(x.labels, x.count);
    for (const x of t.drops) drops.inc(x.labels, x.count);
    for (const x of t.verdicts) verdicts.inc(x.labels, x.count);
  };
  const detach = observer.onTally ? observer.onTally(count) : observer.onFlows((batch: readonly Flow[]) => count(tallyFlows(batch)));
  return { registry, detach };
}

/** Serves the observer's metrics at http://<address>/metrics. */
export async function startFlowMetrics(config: FlowMetricsConfig): Promise<FlowMetricsHandle> {
  const { registry, detach } = createFlowRegistry(config);
  const log = config.logger;
  const address = config.address ?? DEFAULT_METRICS_ADDRESS;
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => {
        log?.error({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(i + 1)), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  log?.info({ address: `${host}:${port}` }, 'flow metrics listening');
  return {
    address: `${host}:${port}`,
    port,
    registry,
    async stop() {
      detach();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
