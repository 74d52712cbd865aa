// Leader election on a fake clock over an in-memory Lease with
// compare-and-swap: one leader at a time, a standby takes over only after
// the lease expires (leader crashed) or at once when released, and a leader
// that cannot renew steps down after the renew deadline.
import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/api/apps.js';
import type { Client } from '../../src/client/client.js';
import { FakeClock } from '../../src/client/clock.js';
import { ClientError } from '../../src/client/errors.js';
import { startLeaderElection } from '../../src/client/leaderelection.js';

function leaseStore() {
  let lease: Lease | undefined;
  let rv = 0;
  const make = (broken: () => boolean): Client => {
    const check = () => {
      if (broken()) throw new ClientError('CLIENT_ERR_NETWORK', 'unreachable');
    };
    return {
      async get() {
        check();
        if (!lease) throw new ClientError('CLIENT_ERR_NOT_FOUND', 'not found', 404);
        return structuredClone(lease);
      },
      async create(_rt: unknown, _ns: unknown, obj: Lease) {
        check();
        if (lease) throw new ClientError('CLIENT_ERR_ALREADY_EXISTS', 'exists', 409, { reason: 'AlreadyExists' } as never);
        lease = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
        return structuredClone(lease);
      },
      async update(_rt: unknown, obj: Lease) {
        check();
        if (!lease || obj.metadata.resourceVersion !== lease.metadata.resourceVersion) throw new ClientError('CLIENT_ERR_CONFLICT', 'conflict', 409);
        lease = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
        return structuredClone(lease);
      },
    } as unknown as Client;
  };
  return { make, current: () => lease };
}

async function pump(clock: FakeClock, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
}

const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 };

describe('leader election', () => {
  it('elects one leader; a standby waits out the lease of a crashed leader, then takes over', async () => {
    const clock = new FakeClock(1_000_000);
    const store = leaseStore();
    let aDown = false;
    const events: string[] = [];
    const a = startLeaderElection({ client: store.make(() => aDown), namespace: 'kube-system', name: 'l', identity: 'a', clock, ...timing, onStartedLeading: () => void events.push('a leads'), onStoppedLeading: () => void events.push('a stopped') });
    await pump(clock, 100);
    const b = startLeaderElection({ client: store.make(() => false), namespace: 'kube-system', name: 'l', identity: 'b', clock, ...timing, onStartedLeading: () => void events.push('b leads') });
    await pump(clock, 5000);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(b.leader()).toBe('a');
    expect(store.current()?.spec?.holderIdentity).toBe('a');

    aDown = true;
    const crashedAt = clock.now();
    await pump(clock, 2500);
    // a gave up after the renew deadline; b still respects the lease until it expires.
    expect(events).toContain('a stopped');
    await pump(clock, 1500);
    expect(b.isLeader()).toBe(true);
    expect(clock.now() - crashedAt).toBeGreaterThanOrEqual(timing.leaseDurationMs);
    expect(store.current()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(events).toEqual(['a leads', 'a stopped', 'b leads']);
    await a.stop();
    await b.stop();
    expect(store.current()?.spec?.holderIdentity).toBe('');
  });

  it('a released lease is taken over on the next retry, and the leader signal aborts on stop', async () => {
    const clock = new FakeClock(5_000_000);
    const store = leaseStore();
    let signal: AbortSignal | undefined;
    const a = startLeaderElection({ client: store.make(() => false), namespace: 'ns', name: 'l', identity: 'a', clock, ...timing, onStartedLeading: (s) => void (signal = s) });
    await pump(clock, 100);
    const b = startLeaderElection({ client: store.make(() => false), namespace: 'ns', name: 'l', identity: 'b', clock, ...timing, onStartedLeading: () => undefined });
    await pump(clock, 1000);
    expect(a.isLeader()).toBe(true);
    const stopping = a.stop();
    await pump(clock, 100);
    await stopping;
    expect(signal?.aborted).toBe(true);
    const releasedAt = clock.now();
    // The release shortened the lease to 1 s from b's view of the change.
    for (let i = 0; i < 40 && !b.isLeader(); i++) await pump(clock, 100);
    expect(b.isLeader()).toBe(true);
    expect(clock.now() - releasedAt).toBeLessThan(timing.leaseDurationMs);
    await b.stop();
  });
});
