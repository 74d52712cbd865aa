// An in-memory MetricsSource for HPA tests: usage per Running pod comes from
// a function the test sets, sampled "now" with a zero window.
import type { Pod } from '../../src/api/core.js';
import type { Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import type { PodMetric } from '../../src/controllers/hpa-algorithm.js';
import type { MetricsSource } from '../../src/controllers/metrics.js';

export interface FakeMetrics extends MetricsSource {
  /** Usage (milli-units) of a resource for a pod, given how many Running pods the selector matches; undefined: no sample. */
  usage: (pod: Pod, running: number, resource: string) => number | undefined;
}

export function fakeMetrics(client: Client): FakeMetrics {
  const fake: FakeMetrics = {
    usage: () => undefined,
    async podUsage(namespace, labelSelector, resource) {
      const pods = (await client.list<Pod>(resources.pods, namespace, { labelSelector })).items.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
      const out = new Map<string, PodMetric>();
      for (const p of pods) {
        const v = fake.usage(p, pods.length, resource);
        if (v !== undefined) out.set(p.metadata.name!, { timestamp: Date.now(), windowMs: 0, value: v });
      }
      return out;
    },
  };
  return fake;
}
