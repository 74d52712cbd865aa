// The snapshot's incremental bookkeeping: node add/update/remove, assume,
// bind, forget and pod removal keep requested resources, ports and the
// count indexes equal to a recount from scratch.
import { describe, expect, it } from 'vitest';
import { makeNode, makePod } from '../../src/scheduler/fixtures.js';
import { podInfoOf } from '../../src/scheduler/podinfo.js';
import { Snapshot } from '../../src/scheduler/snapshot.js';

const webMatcher = { key: 'test|web', matches: (p: ReturnType<typeof podInfoOf>) => p.labels.app === 'web' };

describe('Snapshot', () => {
  it('keeps per-node requests and host ports through assume, bind, forget and delete', () => {
    const snap = new Snapshot();
    snap.upsertNode(makeNode({ name: 'n1' }));
    const pod = makePod({ name: 'p', cpu: '1', memory: '1Gi', hostPorts: [80] });
    snap.assume(pod, 'n1');
    const n1 = snap.node('n1')!;
    expect([n1.requested.milliCPU, n1.requested.memory, n1.requested.pods, n1.usedPorts.size]).toEqual([1000, 2 ** 30, 1, 1]);
    expect(snap.isAssumed('default/p')).toBe(true);
    snap.finishBinding('default/p');
    // A completed binding is not forgotten; only the API's confirmation or deletion changes it.
    snap.forget('default/p');
    expect(snap.hasPod('default/p')).toBe(true);
    snap.upsertPod({ ...pod, spec: { ...pod.spec, nodeName: 'n1' } });
    expect(snap.isAssumed('default/p')).toBe(false);
    expect(n1.requested.milliCPU).toBe(1000);
    snap.removePod('default/p');
    expect([n1.requested.milliCPU, n1.requested.memory, n1.requested.pods, n1.usedPorts.size]).toEqual([0, 0, 0, 0]);
  });

  it('keeps pods of a removed node and restores them when it returns', () => {
    const snap = new Snapshot();
    snap.upsertNode(makeNode({ name: 'n1', labels: { zone: 'a' } }));
    snap.upsertNode(makeNode({ name: 'n2', labels: { zone: 'b' } }));
    snap.upsertPod(makePod({ name: 'w', nodeName: 'n1', labels: { app: 'web' }, cpu: '1' }));
    const idx = snap.countsFor(webMatcher);
    expect(idx.domainCounts('zone')).toEqual(new Map([['a', 1]]));
    snap.removeNode('n1');
    expect(snap.numNodes).toBe(1);
    expect(snap.nodeList[0].index).toBe(0);
    expect(idx.total).toBe(0);
    expect(snap.labelValues('zone')).toEqual(new Map([['b', 1]]));
    snap.upsertNode(makeNode({ name: 'n1', labels: { zone: 'c' } }));
    expect(snap.node('n1')!.requested.milliCPU).toBe(1000);
    expect(idx.domainCounts('zone')).toEqual(new Map([['c', 1]]));
  });

  it('places pods that arrive before their node', () => {
    const snap = new Snapshot();
    snap.upsertPod(makePod({ name: 'early', nodeName: 'late', cpu: '2' }));
    expect(snap.hasPod('default/early')).toBe(true);
    snap.upsertNode(makeNode({ name: 'late' }));
    expect(snap.node('late')!.requested.milliCPU).toBe(2000);
  });

  it('moves domain counts when node labels change and matches a recount', () => {
    const snap = new Snapshot();
    for (let i = 0; i < 6; i++) snap.upsertNode(makeNode({ name: `n${i}`, labels: { zone: `z${i % 3}` } }));
    for (let i = 0; i < 12; i++) snap.upsertPod(makePod({ name: `w${i}`, nodeName: `n${i % 6}`, labels: { app: i % 4 === 0 ? 'db' : 'web' } }));
    const idx = snap.countsFor(webMatcher);
    expect(idx.domainCounts('zone')).toEqual(new Map([['z0', 3], ['z1', 3], ['z2', 3]]));
    snap.upsertNode(makeNode({ name: 'n0', labels: { zone: 'z9' } }));
    snap.removePod('default/w1');
    const fresh = new Snapshot({ indexes: false });
    for (const n of snap.nodeList) fresh.upsertNode(n.node);
    for (const n of snap.nodeList) for (const p of n.pods.values()) fresh.upsertPod(p.pod);
    expect(idx.domainCounts('zone')).toEqual(fresh.countsFor(webMatcher).domainCounts('zone'));
    expect(idx.byNode).toEqual(fresh.countsFor(webMatcher).byNode);
  });

  it('rebuilds an index dropped by the LRU bound with the same counts', () => {
    const snap = new Snapshot({ maxIndexes: 1 });
    snap.upsertNode(makeNode({ name: 'n1' }));
    snap.upsertPod(makePod({ name: 'w', nodeName: 'n1', labels: { app: 'web' } }));
    const first = snap.countsFor(webMatcher);
    snap.countsFor({ key: 'other', matches: () => true });
    snap.upsertPod(makePod({ name: 'w2', nodeName: 'n1', labels: { app: 'web' } }));
    const again = snap.countsFor(webMatcher);
    expect(again).not.toBe(first);
    expect(again.total).toBe(2);
  });
});
