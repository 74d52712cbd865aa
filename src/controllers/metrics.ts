// Where the HPA controller reads pod resource usage: a MetricsSource
// interface, and the one over the resource metrics API
// (metrics.k8s.io/v1beta1 PodMetrics, as metrics-server serves it).
import { isNotFound } from '../client/errors.js';
import type { Client } from '../client/client.js';
import type { PodMetric } from './hpa-algorithm.js';
import { milliValue } from './quantity.js';

/** Per-pod usage of one resource (cpu in millicores, memory in milli-bytes) for the pods a selector matches. */
export interface MetricsSource {
  podUsage(namespace: string, labelSelector: string, resource: string): Promise<Map<string, PodMetric>>;
}

interface PodMetricsList {
  items: { metadata: { name: string }; timestamp: string; window: string; containers: { name: string; usage: Record<string, string> }[] }[];
}

/** "30s", "1m0.5s", "150ms" as milliseconds. */
function durationMs(d: string): number {
  let ms = 0;
  for (const [, n, unit] of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms']!;
  return ms;
}

/** Reads PodMetrics from the API server's metrics.k8s.io group; fails as upstream when the API is absent. */
export function resourceMetricsSource(client: Client): MetricsSource {
  return {
    async podUsage(namespace, labelSelector, resource) {
      let list: PodMetricsList;
      try {
        list = await client.transport.request<PodMetricsList>('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`, { query: { labelSelector } });
      } catch (err) {
        if (isNotFound(err)) throw new Error(`unable to get metrics for resource ${resource}: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)`);
        throw err;
      }
      const out = new Map<string, PodMetric>();
      for (const m of list.items) {
        let value = 0;
        let complete = m.containers.length > 0;
        for (const c of m.containers) {
          const v = milliValue(c.usage[resource]);
          if (Number.isNaN(v)) complete = false;
          else value += v;
        }
        // A pod missing a container's sample counts as missing, not as idle.
        if (complete) out.set(m.metadata.name, { timestamp: Date.parse(m.timestamp), windowMs: durationMs(m.window), value });
      }
      return out;
    },
  };
}
