// What every controller shares: the context the manager hands it, the
// Handle it returns, and a worker pool that drains a work queue into a
// level-triggered reconcile function with per-key back-off on failure.
import type { KubeObject } from '../api/meta.js';
import type { Client } from '../client/client.js';
import type { Clock } from '../client/clock.js';
import type { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import type { Informer } from '../client/informer.js';
import type { MetricsSource } from './metrics.js';
import { createWorkQueue, type WorkQueue } from '../client/workqueue.js';
import { forComponent, type Logger } from '../log/logger.js';

export interface ControllerContext {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  clock: Clock;
  logger?: Logger;
  /** Worker count per controller (default 2). */
  workers?: number;
  settings?: ControllerSettings;
}

/** Cluster-wide knobs some controllers read; defaults as kube's. */
export interface ControllerSettings {
  /** PEM of the cluster CA, published as ConfigMap kube-root-ca.crt in every namespace. */
  rootCA?: string;
  /** Service ClusterIP range (default 10.96.0.0/12). */
  serviceCIDR?: string;
  /** NodePort range (default 30000-32767). */
  nodePortRange?: [number, number];
  /** Pod network (default 10.244.0.0/16) and per-node prefix length (default 24). */
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
  /** Delay before recreating a failed Job pod: base * 2^failures, capped (defaults 10 s, 6 min). */
  jobBackoffBaseMs?: number;
  jobBackoffMaxMs?: number;
  /** A node whose kubelet has not renewed its Lease or status for this long is Unknown (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** How often node health is checked (default 5 s). */
  nodeMonitorPeriodMs?: number;
  /** Toleration given to pods with none for the not-ready/unreachable taints, as the DefaultTolerationSeconds admission does (default 300). */
  defaultTolerationSeconds?: number;
  /** Where the HPA controller reads pod usage (default: the metrics.k8s.io PodMetrics API). */
  hpaMetrics?: MetricsSource;
  /** HPA sync period (default 15 s), downscale stabilization window without behavior (default 300 s), tolerance (default 0.1). */
  hpaSyncPeriodMs?: number;
  hpaDownscaleStabilizationMs?: number;
  hpaTolerance?: number;
  /** Pods younger than this count as not-yet-ready for CPU (default 300 s); readiness flips within this of start are startup (default 30 s). */
  hpaCpuInitializationPeriodMs?: number;
  hpaInitialReadinessDelayMs?: number;
  /** Token lifetime requested for legacy service-account token Secrets (default one year, the API's maximum). */
  legacyTokenExpirationSeconds?: number;
}

export interface Handle {
  stop(): Promise<void>;
}

/** A reconcile result: nothing, or when to look at the key again even without events. */
export type ReconcileResult = void | { requeueAfterMs: number };

export interface Loop {
  queue: WorkQueue<string>;
  log: Logger | undefined;
  /** Starts the workers after the given informers have synced. */
  run(informers: Informer<KubeObject>[]): Promise<Handle>;
}

/** Creates a named reconcile loop over string keys. */
export function createLoop(ctx: ControllerContext, name: string, reconcile: (key: string) => Promise<ReconcileResult>): Loop {
  const queue = createWorkQueue<string>({ clock: ctx.clock });
  const log = ctx.logger ? forComponent(ctx.logger, `controller:${name}`) : undefined;

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const res = await reconcile(key);
        queue.forget(key);
        if (res && res.requeueAfterMs >= 0) queue.addAfter(key, res.requeueAfterMs);
      } catch (err) {
        if (!queue.shuttingDown) {
          log?.info({ key, err: String(err), retries: queue.numRequeues(key) }, 'reconcile failed, requeueing');
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
      }
    }
  }

  return {
    queue,
    log,
    async run(informers) {
      for (const i of informers) i.start();
      await Promise.all(informers.map((i) => i.waitForSync()));
      const workers = Array.from({ length: ctx.workers ?? 2 }, () => worker());
      return {
        async stop() {
          queue.shutDown();
          await Promise.all(workers);
        },
      };
    },
  };
}

/** The owner reference with controller: true, if any. */
export function controllerRef(o: KubeObject): { apiVersion: string; kind: string; name: string; uid: string } | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

/** RFC 3339 seconds, as the API prints times. */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
}
