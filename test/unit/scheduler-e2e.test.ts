// The scheduler component end to end, in process: events in, bindings and
// unschedulable verdicts out through the injected callbacks.
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/scheduler/events.js';
import { makeNode, makePod } from '../../src/scheduler/fixtures.js';
import { start, type Handle } from '../../src/scheduler/scheduler.js';
import type { Pod } from '../../src/scheduler/types.js';
import { LabelHostname } from '../../src/scheduler/types.js';

interface Harness {
  bus: EventBus;
  handle: Handle;
  bound: Map<string, string>;
  unschedulable: Map<string, string>;
}

const running: Handle[] = [];

/** Waits for a condition that timers (backoff) will bring about, failing after 5s. */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 5s');
    await new Promise((r) => setTimeout(r, 2));
  }
}
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});

async function harness(opts: { failBind?: (pod: Pod) => boolean } = {}): Promise<Harness> {
  const bus = new EventBus();
  const bound = new Map<string, string>();
  const unschedulable = new Map<string, string>();
  const handle = await start({
    events: bus,
    queue: { initialBackoffMs: 1, maxBackoffMs: 5 },
    async bind(pod, node) {
      if (opts.failBind?.(pod)) throw new Error('conflict');
      bound.set(pod.metadata.name, node);
      // What the API server's watch would report after pods/binding.
      bus.emit({ kind: 'Pod', type: 'MODIFIED', object: { ...pod, spec: { ...pod.spec, nodeName: node } } });
    },
    async markUnschedulable(pod, message) {
      unschedulable.set(pod.metadata.name, message);
    },
  });
  running.push(handle);
  return { bus, handle, bound, unschedulable };
}

describe('scheduler component', () => {
  it('spreads 1,000 pods over 100 nodes in 4 zones exactly evenly', async () => {
    const h = await harness();
    for (let i = 0; i < 100; i++) h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: `node-${i}`, cpu: '16', memory: '64Gi', labels: { 'topology.kubernetes.io/zone': `zone-${i % 4}` } }) });
    const spread = (topologyKey: string) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: 'DoNotSchedule' as const, labelSelector: { matchLabels: { app: 'web' } } });
    for (let i = 0; i < 1000; i++) {
      const pod = makePod({ name: `web-${i}`, labels: { app: 'web' }, cpu: '100m', memory: '128Mi', spread: [spread('topology.kubernetes.io/zone'), spread(LabelHostname)] });
      h.bus.emit({ kind: 'Pod', type: 'ADDED', object: pod });
    }
    await h.handle.waitForIdle();
    expect(h.bound.size).toBe(1000);
    expect(h.unschedulable.size).toBe(0);
    const perNode = new Map<string, number>();
    const perZone = new Map<string, number>();
    for (const node of h.bound.values()) {
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
      const zone = `zone-${Number(node.slice(5)) % 4}`;
      perZone.set(zone, (perZone.get(zone) ?? 0) + 1);
    }
    expect(perNode.size).toBe(100);
    expect([...perNode.values()].every((n) => n === 10)).toBe(true);
    expect([...perZone.values()]).toEqual([250, 250, 250, 250]);
    expect(h.handle.snapshot.node('node-7')!.requested.milliCPU).toBe(1000);
  });

  it('reports an unschedulable pod and schedules it once a fitting node appears', async () => {
    const h = await harness();
    h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: 'small', cpu: '1' }) });
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: makePod({ name: 'big', cpu: '4' }) });
    await h.handle.waitForIdle();
    expect(h.unschedulable.get('big')).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
    expect(h.handle.queue.where('default/big')).toBe('unschedulable');
    h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: 'large', cpu: '8' }) });
    await until(() => h.bound.has('big'));
    expect(h.bound.get('big')).toBe('large');
  });

  it('retries parked pods on node changes that matter, not on heartbeats', async () => {
    const h = await harness();
    h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: 'n1', cpu: '1' }) });
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: makePod({ name: 'big', cpu: '2' }) });
    await h.handle.waitForIdle();
    const heartbeat = makeNode({ name: 'n1', cpu: '1' });
    heartbeat.status = { ...heartbeat.status, conditions: [{ type: 'Ready', status: 'True' }] };
    h.bus.emit({ kind: 'Node', type: 'MODIFIED', object: heartbeat });
    expect(h.handle.queue.where('default/big')).toBe('unschedulable');
    h.bus.emit({ kind: 'Node', type: 'MODIFIED', object: makeNode({ name: 'n1', cpu: '4' }) });
    await until(() => h.bound.has('big'));
    expect(h.bound.get('big')).toBe('n1');
  });

  it('frees resources when an assigned pod is deleted and retries the waiting pod', async () => {
    const h = await harness();
    h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: 'n1', cpu: '2' }) });
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: makePod({ name: 'first', cpu: '1500m' }) });
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: makePod({ name: 'second', cpu: '1500m' }) });
    await h.handle.waitForIdle();
    expect([...h.bound.keys()]).toEqual(['first']);
    expect(h.unschedulable.has('second')).toBe(true);
    h.bus.emit({ kind: 'Pod', type: 'DELETED', object: makePod({ name: 'first', cpu: '1500m', nodeName: 'n1' }) });
    await until(() => h.bound.has('second'));
    expect(h.bound.get('second')).toBe('n1');
  });

  it('forgets the assumed pod when binding fails and retries after backoff', async () => {
    let failures = 1;
    const h = await harness({ failBind: () => failures-- > 0 });
    h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: 'n1', cpu: '1' }) });
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: makePod({ name: 'p', cpu: '1' }) });
    await until(() => h.bound.has('p'));
    expect(h.bound.get('p')).toBe('n1');
    expect(h.handle.stats()).toMatchObject({ bound: 1, bindErrors: 1 });
    expect(h.handle.snapshot.node('n1')!.requested.milliCPU).toBe(1000);
  });

  it('does not reschedule a bound pod when a stale pending copy arrives', async () => {
    const h = await harness();
    h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: 'n1' }) });
    const pod = makePod({ name: 'p', cpu: '1' });
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: pod });
    await h.handle.waitForIdle();
    h.bus.emit({ kind: 'Pod', type: 'MODIFIED', object: { ...pod, status: { phase: 'Pending' } } });
    await h.handle.waitForIdle();
    expect(h.handle.stats()).toMatchObject({ attempts: 1, bound: 1 });
  });

  it('leaves pods of other schedulers and already bound pods alone', async () => {
    const h = await harness();
    h.bus.emit({ kind: 'Node', type: 'ADDED', object: makeNode({ name: 'n1' }) });
    const other = makePod({ name: 'other' });
    other.spec.schedulerName = 'custom';
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: other });
    h.bus.emit({ kind: 'Pod', type: 'ADDED', object: makePod({ name: 'pinned', nodeName: 'n1', cpu: '1' }) });
    await h.handle.waitForIdle();
    expect(h.bound.size).toBe(0);
    expect(h.handle.snapshot.node('n1')!.requested.milliCPU).toBe(1000);
  });
});
