// Leader election over a coordination.k8s.io/v1 Lease: acquire when the
// lease is free or expired (judged by our own clock since we last saw it
// change, as client-go does, so clock skew between candidates is harmless),
// renew every retry period, step down when renewal fails past the renew
// deadline, and release the lease on stop so a standby takes over at once.
import type { Lease } from '../api/apps.js';
import type { Logger } from '../log/logger.js';
import type { Client } from './client.js';
import { realClock, sleep, type Clock } from './clock.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { resources } from './resources.js';

export interface LeaderElectionConfig {
  client: Client;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Runs while leading; the signal aborts when leadership is lost or on stop. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called after leading ends (after onStartedLeading's work was told to stop). */
  onStoppedLeading?(): void | Promise<void>;
  onNewLeader?(identity: string): void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** The holder last observed (may be another candidate). */
  leader(): string;
  /** Stops campaigning; releases the lease if held. */
  stop(): Promise<void>;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** Starts campaigning in the background. */
export function startLeaderElection(config: LeaderElectionConfig): LeaderElector {
  const clock = config.clock ?? realClock;
  const leaseMs = config.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
  const retryMs = config.retryPeriodMs ?? 2_000;
  const stop = new AbortController();
  const rt = resources.leases;
  let leading = false;
  let observed: { holder: string; rv: string; at: number } = { holder: '', rv: '', at: 0 };
  let lastRenew = 0;
  let leadAbort: AbortController | undefined;
  let leadWork: Promise<void> | undefined;
  let lastReportedLeader = '';

  const observe = (lease: Lease) => {
    const holder = lease.spec?.holderIdentity ?? '';
    if (lease.metadata.resourceVersion !== observed.rv) observed = { holder, rv: lease.metadata.resourceVersion ?? '', at: clock.now() };
    if (holder && holder !== lastReportedLeader) {
      lastReportedLeader = holder;
      config.onNewLeader?.(holder);
    }
  };

  /** One attempt; true when we hold the lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = clock.now();
    const spec = (transitions: number, acquire: string) => ({ holderIdentity: config.identity, leaseDurationSeconds: Math.ceil(leaseMs / 1000), acquireTime: acquire, renewTime: microTime(now), leaseTransitions: transitions });
    let lease: Lease;
    try {
      lease = await config.client.get<Lease>(rt, config.namespace, config.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        const created = await config.client.create<Lease>(rt, config.namespace, { metadata: { name: config.name, namespace: config.namespace }, spec: spec(0, microTime(now)) });
        observe(created);
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    observe(lease);
    const holder = lease.spec?.holderIdentity ?? '';
    const durMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(leaseMs / 1000)) * 1000;
    if (holder && holder !== config.identity && observed.at + durMs > now) return false;
    const mine = holder === config.identity;
    const next: Lease = { ...lease, spec: spec((lease.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1), mine && lease.spec?.acquireTime ? lease.spec.acquireTime : microTime(now)) };
    try {
      observe(await config.client.update<Lease>(rt, next));
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  async function attempt(): Promise<boolean> {
    try {
      return await tryAcquireOrRenew();
    } catch (err) {
      config.logger?.warn({ err: String(err), lease: config.name }, 'lease update failed');
      return false;
    }
  }

  async function stepDown(): Promise<void> {
    if (!leading) return;
    leading = false;
    leadAbort?.abort();
    await leadWork;
    await config.onStoppedLeading?.();
  }

  async function campaign(): Promise<void> {
    while (!stop.signal.aborted) {
      const ok = await attempt();
      if (stop.signal.aborted) break;
      if (ok) {
        lastRenew = clock.now();
        if (!leading) {
          leading = true;
          config.logger?.info({ identity: config.identity, lease: config.name }, 'became leader');
          leadAbort = new AbortController();
          leadWork = Promise.resolve(config.onStartedLeading(leadAbort.signal)).catch((err: unknown) => {
            config.logger?.error({ err: String(err) }, 'leader work failed');
          });
        }
      } else if (leading && clock.now() - lastRenew > renewDeadlineMs) {
        config.logger?.warn({ identity: config.identity }, 'lost leadership');
        await stepDown();
      }
      await sleep(clock, retryMs, stop.signal);
    }
  }

  async function release(): Promise<void> {
    try {
      const lease = await config.client.get<Lease>(rt, config.namespace, config.name);
      if (lease.spec?.holderIdentity !== config.identity) return;
      await config.client.update<Lease>(rt, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(clock.now()) } });
    } catch (err) {
      config.logger?.warn({ err: String(err) }, 'releasing lease failed');
    }
  }

  const running = campaign();
  return {
    isLeader: () => leading,
    leader: () => observed.holder,
    async stop() {
      stop.abort();
      await running;
      const held = leading;
      await stepDown();
      if (held) await release();
    },
  };
}
