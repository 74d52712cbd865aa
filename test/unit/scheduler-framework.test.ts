// The framework's extension points: plugins registered by name, PreFilter
// skip/reject/restrict, Filter order, and score = sum of weight x normalized.
import { describe, expect, it } from 'vitest';
import { Algorithm } from '../../src/scheduler/algorithm.js';
import { makeNode, makePod } from '../../src/scheduler/fixtures.js';
import { defaultNormalize, Registry, type Plugin } from '../../src/scheduler/framework.js';
import { defaultRegistry } from '../../src/scheduler/plugins/index.js';
import { Snapshot } from '../../src/scheduler/snapshot.js';
import { skip, unresolvable } from '../../src/scheduler/status.js';

function snapshot(n: number): Snapshot {
  const snap = new Snapshot();
  for (let i = 0; i < n; i++) snap.upsertNode(makeNode({ name: `n${i}` }));
  return snap;
}

/** Scores a node by the number in its name; normalizes to 0..100 by the maximum. */
const byIndex: Plugin = {
  name: 'ByIndex',
  score: (_s, _p, node) => Number(node.name.slice(1)),
  normalizeScore: (_s, _p, _n, scores) => defaultNormalize(scores, false),
};
/** Prefers low indexes, reversed. */
const byLowIndex: Plugin = {
  name: 'ByLowIndex',
  score: (_s, _p, node) => Number(node.name.slice(1)),
  normalizeScore: (_s, _p, _n, scores) => defaultNormalize(scores, true),
};

describe('framework', () => {
  it('picks the node with the highest weighted sum of normalized scores', () => {
    const registry = new Registry().register('ByIndex', () => byIndex).register('ByLowIndex', () => byLowIndex);
    const snap = snapshot(5);
    const high = new Algorithm({ registry, profile: { plugins: [{ name: 'ByIndex', weight: 3 }, { name: 'ByLowIndex', weight: 1 }] } });
    expect(high.schedule(makePod({ name: 'p' }), snap)).toMatchObject({ node: 'n4' });
    const low = new Algorithm({ registry, profile: { plugins: [{ name: 'ByIndex', weight: 1 }, { name: 'ByLowIndex', weight: 3 }] } });
    expect(low.schedule(makePod({ name: 'p' }), snap)).toMatchObject({ node: 'n0' });
    const off = new Algorithm({ registry, random: () => 0.99, profile: { plugins: [{ name: 'ByIndex', weight: 0 }] } });
    expect(off.schedule(makePod({ name: 'p' }), snap)).toMatchObject({ node: 'n0' });
  });

  it('skips a plugin Filter after PreFilter returns Skip and rejects everything on PreFilter failure', () => {
    const calls: string[] = [];
    const skipper: Plugin = { name: 'Skipper', preFilter: () => ({ status: skip }), filter: () => (calls.push('filter'), unresolvable('never')) };
    const rejecter: Plugin = { name: 'Rejecter', preFilter: () => ({ status: unresolvable('node(s) are all wrong') }) };
    const registry = new Registry().register('Skipper', () => skipper).register('Rejecter', () => rejecter);
    const snap = snapshot(3);
    expect(new Algorithm({ registry, profile: { plugins: [{ name: 'Skipper' }] } }).schedule(makePod({ name: 'p' }), snap)).toHaveProperty('node');
    expect(calls).toEqual([]);
    const r = new Algorithm({ registry, preemptionMessage: false, profile: { plugins: [{ name: 'Rejecter' }] } }).schedule(makePod({ name: 'p' }), snap);
    expect(r).toMatchObject({ unschedulable: '0/3 nodes are available: 3 node(s) are all wrong.' });
  });

  it('intersects PreFilter node restrictions and words an empty intersection like kube', () => {
    const only = (name: string, nodes: string[]): Plugin => ({ name, preFilter: () => ({ nodeNames: new Set(nodes) }) });
    const registry = new Registry().register('A', () => only('A', ['n0', 'n1'])).register('B', () => only('B', ['n1', 'n2'])).register('C', () => only('C', ['n2']));
    const snap = snapshot(3);
    const algo = (names: string[]) => new Algorithm({ registry, preemptionMessage: false, profile: { plugins: names.map((name) => ({ name })) } });
    expect(algo(['A', 'B']).schedule(makePod({ name: 'p' }), snap)).toMatchObject({ node: 'n1' });
    expect(algo(['B', 'A', 'C']).schedule(makePod({ name: 'p' }), snap)).toMatchObject({ unschedulable: "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [A B C] simultaneously." });
    const none: Plugin = { name: 'None', preFilter: () => ({ nodeNames: new Set() }) };
    const r = new Algorithm({ registry: new Registry().register('None', () => none), preemptionMessage: false, profile: { plugins: [{ name: 'None' }] } }).schedule(makePod({ name: 'p' }), snap);
    expect(r).toMatchObject({ unschedulable: "0/3 nodes are available: 3 node(s) didn't satisfy plugin None." });
  });

  it('runs Filters in profile order and reports the first rejection only', () => {
    const snap = new Snapshot();
    snap.upsertNode(makeNode({ name: 'n1', cpu: '1', unschedulable: true }));
    const r = new Algorithm({ preemptionMessage: false }).schedule(makePod({ name: 'p', cpu: '2' }), snap);
    expect(r).toMatchObject({ unschedulable: '0/1 nodes are available: 1 node(s) were unschedulable.' });
  });

  it('refuses unknown and duplicate plugin names', () => {
    expect(() => new Algorithm({ profile: { plugins: [{ name: 'Nope' }] } })).toThrow(expect.objectContaining({ code: 'SCHED_ERR_CONFIG', message: 'unknown scheduler plugin Nope' }));
    expect(() => defaultRegistry().register('NodeName', () => byIndex)).toThrow(/registered twice/);
  });

  it('normalizes like kube DefaultNormalizeScore', () => {
    const a = Float64Array.from([0, 5, 10]);
    defaultNormalize(a, false);
    expect([...a]).toEqual([0, 50, 100]);
    const b = Float64Array.from([0, 5, 10]);
    defaultNormalize(b, true);
    expect([...b]).toEqual([100, 50, 0]);
    const c = Float64Array.from([0, 0]);
    defaultNormalize(c, true);
    expect([...c]).toEqual([100, 100]);
  });
});
