// The unschedulable message in kube-scheduler's exact form, and node
// sampling (percentageOfNodesToScore) with round-robin start.
import { describe, expect, it } from 'vitest';
import { Algorithm, schedule } from '../../src/scheduler/scheduler.js';
import { makeNode, makePod } from '../../src/scheduler/fixtures.js';
import { numFeasibleNodesToFind } from '../../src/scheduler/framework.js';
import { Snapshot } from '../../src/scheduler/snapshot.js';
import type { Node } from '../../src/scheduler/types.js';

function snapshotOf(nodes: Node[]): Snapshot {
  const snap = new Snapshot();
  for (const n of nodes) snap.upsertNode(n);
  return snap;
}

const controlPlane = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const };

describe('unschedulable message', () => {
  const snap = snapshotOf([
    makeNode({ name: 'w1', cpu: '1' }),
    makeNode({ name: 'w2', cpu: '1' }),
    makeNode({ name: 'cp1', taints: [controlPlane] }),
    makeNode({ name: 'cp2', taints: [controlPlane] }),
    makeNode({ name: 'cp3', taints: [controlPlane] }),
  ]);
  const pod = makePod({ name: 'big', cpu: '2' });

  it('counts reasons per node, sorted, with the preemption sentence', () => {
    const r = schedule(pod, snap);
    expect(r).toMatchObject({
      unschedulable:
        '0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. ' +
        'preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.',
      reasons: { 'Insufficient cpu': 2, 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }': 3 },
    });
  });

  it('omits the preemption sentence on request', () => {
    const r = new Algorithm({ preemptionMessage: false }).schedule(pod, snap);
    expect('unschedulable' in r && r.unschedulable).toBe('0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }.');
  });

  it('lists several reasons from one node and uses kube wording for every plugin', () => {
    const s = snapshotOf([
      makeNode({ name: 'cordoned', unschedulable: true }),
      makeNode({ name: 'tiny', cpu: '100m', memory: '64Mi' }),
      makeNode({ name: 'elsewhere', labels: { zone: 'b' } }),
      makeNode({ name: 'ports' }),
    ]);
    s.upsertPod(makePod({ name: 'holder', nodeName: 'ports', hostPorts: [80] }));
    const p = makePod({ name: 'p', cpu: '1', memory: '1Gi', hostPorts: [80], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] }] } } } });
    const r = new Algorithm({ preemptionMessage: false }).schedule(p, s);
    expect('unschedulable' in r && r.unschedulable).toBe(
      "0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable.",
    );
  });

  it('reports a PreFilter rejection for every node', () => {
    const s = snapshotOf([makeNode({ name: 'n1' }), makeNode({ name: 'n2' })]);
    const p = makePod({ name: 'p', spread: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: {} }] });
    const r = new Algorithm({ preemptionMessage: false }).schedule(p, s);
    expect('unschedulable' in r && r.unschedulable).toBe("0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints (missing required label).");
    expect(schedule(p, new Snapshot())).toMatchObject({ unschedulable: 'no nodes available to schedule pods' });
  });
});

describe('node sampling', () => {
  it("follows kube-scheduler's adaptive percentageOfNodesToScore", () => {
    expect(numFeasibleNodesToFind(0, 50)).toBe(50);
    expect(numFeasibleNodesToFind(0, 100)).toBe(100);
    expect(numFeasibleNodesToFind(0, 1000)).toBe(420);
    expect(numFeasibleNodesToFind(0, 5000)).toBe(500);
    expect(numFeasibleNodesToFind(0, 6000)).toBe(300);
    expect(numFeasibleNodesToFind(0, 20000)).toBe(1000);
    expect(numFeasibleNodesToFind(10, 500)).toBe(100);
    expect(numFeasibleNodesToFind(100, 5000)).toBe(5000);
  });

  it('stops filtering once enough nodes fit and starts the next cycle where it stopped', () => {
    const snap = snapshotOf(Array.from({ length: 1000 }, (_, i) => makeNode({ name: `n${i}` })));
    const algo = new Algorithm({ random: () => 0.99 });
    const first = algo.schedule(makePod({ name: 'a' }), snap);
    expect(first).toMatchObject({ feasible: 420, evaluated: 420 });
    // Ties keep the first best node with random() = 0.99, so the pick shows the start index.
    expect(first).toMatchObject({ node: 'n0' });
    expect(algo.schedule(makePod({ name: 'b' }), snap)).toMatchObject({ node: 'n420' });
    expect(algo.schedule(makePod({ name: 'c' }), snap)).toMatchObject({ node: 'n840' });
  });

  it('keeps searching past infeasible nodes', () => {
    const nodes = Array.from({ length: 400 }, (_, i) => makeNode({ name: `n${i}`, ...(i < 300 ? { taints: [controlPlane] } : {}) }));
    const r = new Algorithm().schedule(makePod({ name: 'p' }), snapshotOf(nodes));
    // 400 nodes -> 47% -> 188 wanted, only 100 feasible: every node was tried.
    expect(r).toMatchObject({ feasible: 100, evaluated: 400 });
  });
});
