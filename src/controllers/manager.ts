// The controller manager: connects to the API server, campaigns for the
// controller-manager Lease, and while leading runs every controller and the
// scheduler over one set of shared informers; losing the lease or stop()
// stops them all.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { connect, type Client } from '../client/client.js';
import { realClock, sleep, type Clock } from '../client/clock.js';
import { createEventRecorder } from '../client/events.js';
import { createInformerFactory } from '../client/factory.js';
import type { ConnectionConfig } from '../client/kubeconfig.js';
import { startLeaderElection, type LeaderElector } from '../client/leaderelection.js';
import { forComponent, type Logger } from '../log/logger.js';
import type { ControllerContext, ControllerSettings, Handle } from './controller.js';
import * as cronjob from './cronjob.js';
import * as daemonset from './daemonset.js';
import * as deployment from './deployment.js';
import * as endpointslice from './endpointslice.js';
import * as gc from './gc.js';
import * as hpa from './hpa.js';
import * as job from './job.js';
import * as namespace from './namespace.js';
import * as nodeIpam from './node-ipam.js';
import * as nodeLifecycle from './node-lifecycle.js';
import * as replicaset from './replicaset.js';
import * as resourceQuota from './resourcequota.js';
import * as serviceIp from './service-ip.js';
import * as serviceAccount from './serviceaccount.js';
import * as statefulset from './statefulset.js';
import * as tokens from './tokens.js';
import * as schedulerBinding from './scheduler-binding.js';
import type { SchedulerOptions } from './scheduler-binding.js';

export type ControllerName = 'replicaset' | 'deployment' | 'endpointslice' | 'service-ip' | 'namespace' | 'garbage-collector' | 'node-ipam' | 'job' | 'cronjob' | 'node-lifecycle' | 'daemonset' | 'statefulset' | 'serviceaccount' | 'root-ca-cert-publisher' | 'horizontal-pod-autoscaler' | 'resourcequota' | 'serviceaccount-token';

export const ALL_CONTROLLERS: ControllerName[] = ['service-ip', 'node-ipam', 'node-lifecycle', 'namespace', 'garbage-collector', 'replicaset', 'deployment', 'daemonset', 'statefulset', 'job', 'cronjob', 'endpointslice', 'serviceaccount', 'root-ca-cert-publisher', 'horizontal-pod-autoscaler', 'resourcequota', 'serviceaccount-token'];

export interface ControllerManagerConfig {
  /** Path of a kubeconfig, or connection settings, or a ready client. */
  kubeconfig?: string;
  connection?: ConnectionConfig;
  client?: Client;
  /** This candidate's name in the Lease (default hostname_uuid). */
  identity?: string;
  /** Lease settings; false runs without election (single instance, tests). */
  leaderElection?: false | { namespace?: string; name?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Which controllers to run (default all). */
  controllers?: ControllerName[];
  /** Run the scheduler too (default true); options pass to the scheduler core. */
  scheduler?: boolean | SchedulerOptions;
  workers?: number;
  /** Service/cluster CIDRs, NodePort range, Job back-off. */
  settings?: ControllerSettings;
  /** Informer resync period (default 5 min; 0 disables). */
  resyncMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface ControllerManagerHandle {
  readonly identity: string;
  isLeader(): boolean;
  /** Resolves once this instance leads and its controllers have started. */
  leading(): Promise<void>;
  stop(): Promise<void>;
}

/** Every cached object is replayed to the controllers this often, so a missed or failed event heals. */
const DEFAULT_RESYNC_MS = 5 * 60_000;

type Starter = (ctx: ControllerContext) => Promise<Handle>;

const STARTERS: Record<ControllerName, Starter> = {
  replicaset: replicaset.start,
  deployment: deployment.start,
  'garbage-collector': gc.start,
  endpointslice: endpointslice.start,
  'service-ip': serviceIp.start,
  serviceaccount: serviceAccount.start,
  'root-ca-cert-publisher': serviceAccount.startRootCaPublisher,
  namespace: namespace.start,
  'node-ipam': nodeIpam.start,
  job: job.start,
  cronjob: cronjob.start,
  'node-lifecycle': nodeLifecycle.start,
  daemonset: daemonset.start,
  statefulset: statefulset.start,
  'horizontal-pod-autoscaler': hpa.start,
  resourcequota: resourceQuota.start,
  'serviceaccount-token': tokens.start,
};

/** Starts the manager; controllers run only while this instance holds the lease. */
export async function startControllerManager(config: ControllerManagerConfig): Promise<ControllerManagerHandle> {
  const clock = config.clock ?? realClock;
  const own = !config.client;
  const client = config.client ?? connect(config.connection ?? config.kubeconfig ?? '');
  const identity = config.identity ?? `${hostname()}_${randomUUID()}`;
  const log = config.logger ? forComponent(config.logger, 'controller-manager') : undefined;
  let active: { stop(): Promise<void> } | undefined;
  let leadingNow = false;
  let leadWaiters: (() => void)[] = [];

  async function runControllers(signal: AbortSignal): Promise<void> {
    const informers = createInformerFactory(client, { resyncMs: config.resyncMs ?? DEFAULT_RESYNC_MS, clock, logger: log });
    const recorder = createEventRecorder(client, { component: 'ebbflow-controller-manager', host: identity, clock, logger: log });
    const ctx: ControllerContext = { client, informers, recorder, clock, logger: config.logger, workers: config.workers, settings: config.settings };
    const handles: Handle[] = [];
    const stopAll = async () => {
      await Promise.all(handles.map((h) => h.stop()));
      await informers.stop();
      await recorder.flush();
    };
    try {
      informers.start();
      for (const name of config.controllers ?? ALL_CONTROLLERS) {
        if (signal.aborted) break;
        handles.push(await STARTERS[name](ctx));
      }
      if (config.scheduler !== false && !signal.aborted) handles.push(await schedulerBinding.start(ctx, typeof config.scheduler === 'object' ? config.scheduler : {}));
    } catch (err) {
      await stopAll();
      throw err;
    }
    active = { stop: stopAll };
    leadingNow = true;
    const w = leadWaiters;
    leadWaiters = [];
    for (const f of w) f();
    log?.info({ identity, controllers: config.controllers ?? ALL_CONTROLLERS }, 'controllers started');
    if (signal.aborted) return stopLeading();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await stopLeading();
  }

  async function stopLeading(): Promise<void> {
    leadingNow = false;
    const a = active;
    active = undefined;
    await a?.stop();
  }

  let elector: LeaderElector | undefined;
  let direct: AbortController | undefined;
  let directRun: Promise<void> | undefined;
  if (config.leaderElection === false) {
    const abort = (direct = new AbortController());
    await new Promise<void>((resolve, reject) => {
      leadWaiters.push(resolve);
      directRun = runControllers(abort.signal).catch(reject);
    });
  } else {
    const le = config.leaderElection ?? {};
    elector = startLeaderElection({
      client,
      namespace: le.namespace ?? 'kube-system',
      name: le.name ?? 'ebbflow-controller-manager',
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      clock,
      logger: log,
      // A start that fails (API unreachable mid-start) is retried for as long as we lead.
      async onStartedLeading(signal) {
        while (!signal.aborted) {
          try {
            return await runControllers(signal);
          } catch (err) {
            log?.error({ err: String(err) }, 'starting controllers failed, retrying');
            await sleep(clock, 1000, signal);
          }
        }
      },
    });
  }

  return {
    identity,
    isLeader: () => leadingNow,
    leading() {
      if (leadingNow) return Promise.resolve();
      return new Promise((resolve) => leadWaiters.push(resolve));
    },
    async stop() {
      if (elector) await elector.stop();
      if (direct) {
        direct.abort();
        await directRun;
      }
      if (own) client.close();
    },
  };
}
