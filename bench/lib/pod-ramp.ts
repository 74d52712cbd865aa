// Pod startup latency of a Deployment scale-up, seen as a user would: the
// replica count is raised, then the pods are listed every 200 ms and each
// pod's first sighting and first sighting as Running are recorded on this
// process's clock. (API timestamps have 1-second resolution; they are kept
// as a second opinion.)
import type { KubeObject } from '../../src/api/meta.js';
import type { Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';

export const SLEEP_IMAGE = 'localhost/ebbflow/busybox:1';

/** A Deployment of `sleep 1000000` pods, created with 0 replicas (optionally pinned to one node). */
export function sleepDeployment(name: string, namespace: string, nodeName?: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          ...(nodeName ? { nodeSelector: { 'kubernetes.io/hostname': nodeName } } : {}),
          // sleep as pid 1 ignores SIGTERM: keep teardown short.
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'sleep', image: SLEEP_IMAGE, command: ['sleep', '1000000'] }],
        },
      },
    },
  };
}

interface PodView {
  metadata: { name: string; creationTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    startTime?: string;
    containerStatuses?: { state?: { running?: { startedAt?: string } } }[];
  };
}

export interface RampResult {
  pods: number;
  /** Pods per node once all were Running. */
  perNode: Record<string, number>;
  /** Per pod: first seen Running minus first seen at all (ms, 200 ms polling). */
  latencyMs: number[];
  /** From the scale request to the last pod seen Running. */
  allRunningMs: number;
  /** Per pod from API timestamps: first container startedAt minus creationTimestamp (1 s resolution). */
  apiLatencyS: number[];
  polls: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Scales `name` to `replicas` and waits (at most timeoutMs) until that many of its pods are Running. */
export async function rampDeployment(c: Client, namespace: string, name: string, replicas: number, timeoutMs: number, pollMs = 200): Promise<RampResult> {
  const firstSeen = new Map<string, number>();
  const firstRunning = new Map<string, number>();
  const t0 = performance.now();
  await c.patch(resources.deployments, namespace, name, { spec: { replicas } }, 'merge');
  let last: PodView[] = [];
  let polls = 0;
  for (;;) {
    const tPoll = performance.now();
    const pods = (await c.list<KubeObject>(resources.pods, namespace, { labelSelector: `app=${name}` })).items as unknown as PodView[];
    const now = performance.now();
    polls++;
    last = pods;
    for (const p of pods) {
      const n = p.metadata.name;
      if (!firstSeen.has(n)) firstSeen.set(n, now);
      if (p.status?.phase === 'Running' && !firstRunning.has(n)) firstRunning.set(n, now);
    }
    const running = pods.filter((p) => p.status?.phase === 'Running').length;
    if (running >= replicas) break;
    if (now - t0 > timeoutMs) throw new Error(`only ${running}/${replicas} pods of ${name} Running after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(Math.max(0, pollMs - (performance.now() - tPoll)));
  }
  const allRunningMs = Math.max(...firstRunning.values()) - t0;
  const latencyMs = [...firstRunning].map(([n, t]) => t - firstSeen.get(n)!);
  const perNode: Record<string, number> = {};
  const apiLatencyS: number[] = [];
  for (const p of last) {
    if (p.status?.phase !== 'Running') continue;
    const node = p.spec?.nodeName ?? '?';
    perNode[node] = (perNode[node] ?? 0) + 1;
    const started = p.status.containerStatuses?.[0]?.state?.running?.startedAt;
    if (started && p.metadata.creationTimestamp) apiLatencyS.push((Date.parse(started) - Date.parse(p.metadata.creationTimestamp)) / 1000);
  }
  return { pods: replicas, perNode, latencyMs, allRunningMs, apiLatencyS, polls };
}

/** Nearest-rank percentile (p in 0..1) of a non-empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}
