// Filter and score behaviour of the node-local plugins: NodeUnschedulable,
// NodeName, NodePorts, NodeResourcesFit, NodeAffinity, TaintToleration.
import { describe, expect, it } from 'vitest';
import { Algorithm, type ScheduleResult } from '../../src/scheduler/algorithm.js';
import { makeNode, makePod, type NodeSpec } from '../../src/scheduler/fixtures.js';
import { Framework, type Profile } from '../../src/scheduler/framework.js';
import { podInfoOf } from '../../src/scheduler/podinfo.js';
import { defaultProfile, defaultRegistry } from '../../src/scheduler/plugins/index.js';
import { parseQuantity, podRequests } from '../../src/scheduler/resources.js';
import { Snapshot } from '../../src/scheduler/snapshot.js';
import type { Pod } from '../../src/scheduler/types.js';

function cluster(nodes: NodeSpec[], pods: Pod[] = []): Snapshot {
  const snap = new Snapshot();
  for (const n of nodes) snap.upsertNode(makeNode(n));
  for (const p of pods) snap.upsertPod(p);
  return snap;
}

function profile(...names: string[]): Profile {
  return { plugins: names.length ? names.map((name) => ({ name })) : defaultProfile().plugins, percentageOfNodesToScore: 100 };
}

/** Names of the nodes that pass every filter of the profile, and each other node's reasons. */
function filterAll(pod: Pod, snap: Snapshot, ...plugins: string[]): { fit: string[]; reasons: Record<string, string[]> } {
  const fw = new Framework(profile(...plugins), defaultRegistry());
  const state = new Map<string, unknown>();
  const p = podInfoOf(pod);
  const pre = fw.runPreFilter(state, p, snap);
  if (pre.status) return { fit: [], reasons: { '*': pre.status.reasons } };
  const fit: string[] = [];
  const reasons: Record<string, string[]> = {};
  for (const n of snap.nodeList) {
    if (pre.nodeNames && !pre.nodeNames.has(n.name)) continue;
    const st = fw.runFilter(pre.filters, state, p, n, snap);
    if (st) reasons[n.name] = st.reasons;
    else fit.push(n.name);
  }
  return { fit, reasons };
}

/** Weighted, normalized scores of the profile's plugins for every node that fits. */
function scores(pod: Pod, snap: Snapshot, ...plugins: string[]): Record<string, number> {
  const fw = new Framework(profile(...plugins), defaultRegistry());
  const state = new Map<string, unknown>();
  const p = podInfoOf(pod);
  const pre = fw.runPreFilter(state, p, snap);
  const nodes = snap.nodeList.filter((n) => !fw.runFilter(pre.filters, state, p, n, snap));
  const s = fw.runScore(state, p, nodes, snap);
  return Object.fromEntries(nodes.map((n, i) => [n.name, s[i]]));
}

function nodeOf(r: ScheduleResult): string | undefined {
  return 'node' in r ? r.node : undefined;
}

describe('quantities and pod requests', () => {
  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('100m')).toBeCloseTo(0.1);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseQuantity('2e3')).toBe(2000);
    expect(parseQuantity('1k')).toBe(1000);
    expect(parseQuantity(3)).toBe(3);
    expect(parseQuantity('abc')).toBeNaN();
  });

  it('takes the larger of containers and each init container, adds sidecars and overhead', () => {
    const pod = makePod({ name: 'p', cpu: '1', memory: '1Gi', overhead: { cpu: '100m' }, initContainers: [{ name: 'init', resources: { requests: { cpu: '3' } } }] });
    const r = podRequests(pod);
    expect(r.milliCPU).toBe(3100);
    expect(r.memory).toBe(2 ** 30);
    const sidecar = makePod({ name: 's', cpu: '1', initContainers: [{ name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '500m' } } }, { name: 'init', resources: { requests: { cpu: '1' } } }] });
    // app 1 + sidecar 0.5 = 1.5 beats init 1 + sidecar 0.5 = 1.5 (equal) and init alone.
    expect(podRequests(sidecar).milliCPU).toBe(1500);
    expect(podRequests(makePod({ name: 'z' }), true).milliCPU).toBe(100);
  });
});

describe('NodeUnschedulable and NodeName', () => {
  const snap = cluster([{ name: 'n1', unschedulable: true }, { name: 'n2' }]);

  it('rejects cordoned nodes unless the pod tolerates the unschedulable taint', () => {
    expect(filterAll(makePod({ name: 'p' }), snap, 'NodeUnschedulable')).toEqual({ fit: ['n2'], reasons: { n1: ['node(s) were unschedulable'] } });
    const tolerant = makePod({ name: 'p', tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    expect(filterAll(tolerant, snap, 'NodeUnschedulable').fit).toEqual(['n1', 'n2']);
  });

  it('fits a pod naming its node only there', () => {
    const r = filterAll(makePod({ name: 'p', nodeName: 'n1' }), snap, 'NodeName');
    expect(r).toEqual({ fit: ['n1'], reasons: { n2: ["node(s) didn't match the requested node name"] } });
  });
});

describe('NodePorts', () => {
  it('rejects nodes where the host port is taken, honouring protocol and host IP', () => {
    const holder = makePod({ name: 'web-0', nodeName: 'n1', hostPorts: [8080] });
    const snap = cluster([{ name: 'n1' }, { name: 'n2' }], [holder]);
    expect(filterAll(makePod({ name: 'p', hostPorts: [8080] }), snap, 'NodePorts')).toEqual({
      fit: ['n2'],
      reasons: { n1: ["node(s) didn't have free ports for the requested pod ports"] },
    });
    expect(filterAll(makePod({ name: 'p', hostPorts: [9090] }), snap, 'NodePorts').fit).toEqual(['n1', 'n2']);
    const udp = makePod({ name: 'u' });
    udp.spec.containers[0].ports = [{ containerPort: 8080, hostPort: 8080, protocol: 'UDP' }];
    expect(filterAll(udp, snap, 'NodePorts').fit).toEqual(['n1', 'n2']);
    const specificIP = makePod({ name: 'ip' });
    specificIP.spec.containers[0].ports = [{ containerPort: 8080, hostPort: 8080, hostIP: '10.0.0.1' }];
    // 0.0.0.0 held by web-0 covers every address.
    expect(filterAll(specificIP, snap, 'NodePorts').fit).toEqual(['n2']);
  });
});

describe('NodeResourcesFit', () => {
  it('reports every insufficient resource, too many pods and extended resources', () => {
    const snap = cluster(
      [{ name: 'small', cpu: '1', memory: '1Gi', pods: 1 }, { name: 'big', cpu: '8', memory: '32Gi', extra: { 'nvidia.com/gpu': '1' } }],
      [makePod({ name: 'x', nodeName: 'small', cpu: '100m' })],
    );
    const r = filterAll(makePod({ name: 'p', cpu: '2', memory: '2Gi' }), snap, 'NodeResourcesFit');
    expect(r).toEqual({ fit: ['big'], reasons: { small: ['Too many pods', 'Insufficient cpu', 'Insufficient memory'] } });
    const gpu = makePod({ name: 'g', requests: { 'nvidia.com/gpu': '2' } });
    expect(filterAll(gpu, snap, 'NodeResourcesFit').reasons.big).toEqual(['Insufficient nvidia.com/gpu']);
    const eph = makePod({ name: 'e', requests: { 'ephemeral-storage': '200Gi' } });
    expect(filterAll(eph, snap, 'NodeResourcesFit').reasons.big).toEqual(['Insufficient ephemeral-storage']);
  });

  it('counts already assigned and assumed pods, and frees them on removal', () => {
    const snap = cluster([{ name: 'n1', cpu: '2' }]);
    const pod = makePod({ name: 'p', cpu: '1500m' });
    snap.assume(makePod({ name: 'a', cpu: '1' }), 'n1');
    expect(filterAll(pod, snap, 'NodeResourcesFit').fit).toEqual([]);
    snap.forget('default/a');
    expect(filterAll(pod, snap, 'NodeResourcesFit').fit).toEqual(['n1']);
    expect(snap.node('n1')!.requested.milliCPU).toBe(0);
  });

  it('applies the init container max rule and pod overhead when fitting', () => {
    const snap = cluster([{ name: 'n1', cpu: '2' }]);
    const init = makePod({ name: 'p', cpu: '500m', initContainers: [{ name: 'i', resources: { requests: { cpu: '3' } } }] });
    expect(filterAll(init, snap, 'NodeResourcesFit').fit).toEqual([]);
    const overhead = makePod({ name: 'o', cpu: '1900m', overhead: { cpu: '200m' } });
    expect(filterAll(overhead, snap, 'NodeResourcesFit').reasons.n1).toEqual(['Insufficient cpu']);
  });

  it('scores the least allocated node highest (LeastAllocated)', () => {
    const snap = cluster([{ name: 'busy', cpu: '4', memory: '8Gi' }, { name: 'idle', cpu: '4', memory: '8Gi' }], [makePod({ name: 'x', nodeName: 'busy', cpu: '3', memory: '6Gi' })]);
    const s = scores(makePod({ name: 'p', cpu: '500m', memory: '1Gi' }), snap, 'NodeResourcesFit');
    // idle: cpu (4000-500)/4000 = 87, memory (8-1)/8 = 87 -> 87; busy: 12 and 12 -> 12.
    expect(s).toEqual({ busy: 12, idle: 87 });
  });
});

describe('NodeResourcesBalancedAllocation', () => {
  it('prefers the node whose cpu and memory use stay in proportion', () => {
    const snap = cluster([{ name: 'cpu-heavy', cpu: '4', memory: '8Gi' }, { name: 'even', cpu: '4', memory: '8Gi' }], [makePod({ name: 'x', nodeName: 'cpu-heavy', cpu: '3' }), makePod({ name: 'y', nodeName: 'even', cpu: '1', memory: '2Gi' })]);
    const s = scores(makePod({ name: 'p', cpu: '500m', memory: '1Gi' }), snap, 'NodeResourcesBalancedAllocation');
    // cpu-heavy: cpu 0.875, memory 0.125 -> std 0.375 -> 62; even: 0.375 and 0.375 -> 100.
    expect(s).toEqual({ 'cpu-heavy': 62, even: 100 });
  });
});

describe('NodeAffinity', () => {
  const snap = cluster([
    { name: 'a', labels: { zone: 'z1', disk: 'ssd', cores: '16' } },
    { name: 'b', labels: { zone: 'z2', disk: 'hdd', cores: '4' } },
    { name: 'c', labels: { zone: 'z3', cores: 'many' } },
  ]);
  const reason = ["node(s) didn't match Pod's node affinity/selector"];
  const required = (terms: object[]) => makePod({ name: 'p', affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } } } });

  it('applies spec.nodeSelector', () => {
    expect(filterAll(makePod({ name: 'p', nodeSelector: { disk: 'ssd' } }), snap, 'NodeAffinity')).toEqual({ fit: ['a'], reasons: { b: reason, c: reason } });
  });

  it('supports In, NotIn, Exists, DoesNotExist, Gt and Lt, ANDed within a term and ORed across terms', () => {
    const fit = (terms: object[]) => filterAll(required(terms), snap, 'NodeAffinity').fit;
    expect(fit([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z3'] }] }])).toEqual(['a', 'c']);
    expect(fit([{ matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['hdd'] }] }])).toEqual(['a', 'c']);
    expect(fit([{ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }])).toEqual(['a', 'b']);
    expect(fit([{ matchExpressions: [{ key: 'disk', operator: 'DoesNotExist' }] }])).toEqual(['c']);
    expect(fit([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] }])).toEqual(['a']);
    expect(fit([{ matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['8'] }] }])).toEqual(['b']);
    expect(fit([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }, { key: 'disk', operator: 'In', values: ['hdd'] }] }])).toEqual([]);
    expect(fit([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }, { matchExpressions: [{ key: 'disk', operator: 'In', values: ['hdd'] }] }])).toEqual(['a', 'b']);
    expect(fit([{}])).toEqual([]);
  });

  it('matches metadata.name fields and restricts the candidate nodes in PreFilter', () => {
    const pod = required([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }]);
    expect(filterAll(pod, snap, 'NodeAffinity').fit).toEqual(['b']);
    const r = new Algorithm({ profile: profile() }).schedule(pod, snap);
    expect(nodeOf(r)).toBe('b');
    const nowhere = required([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }], matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }]);
    const u = new Algorithm({ profile: profile(), preemptionMessage: false }).schedule(nowhere, snap);
    expect('unschedulable' in u && u.unschedulable).toBe("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].");
  });

  it('scores the sum of matching preferred term weights', () => {
    const pod = makePod({
      name: 'p',
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
            { weight: 30, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2', 'z1'] }] } },
          ],
        },
      },
    });
    // a: 40 -> 100, b: 30 -> 75, c: 0; weight 2.
    expect(scores(pod, snap, 'NodeAffinity')).toEqual({ a: 200, b: 150, c: 0 });
  });
});

describe('TaintToleration', () => {
  const snap = cluster([
    { name: 'cp', taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
    { name: 'gpu', taints: [{ key: 'gpu', value: 'true', effect: 'NoExecute' }] },
    { name: 'soft', taints: [{ key: 'spot', value: 'yes', effect: 'PreferNoSchedule' }] },
    { name: 'plain' },
  ]);

  it('rejects NoSchedule and NoExecute taints with kube wording', () => {
    expect(filterAll(makePod({ name: 'p' }), snap, 'TaintToleration')).toEqual({
      fit: ['soft', 'plain'],
      reasons: { cp: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'], gpu: ['node(s) had untolerated taint {gpu: true}'] },
    });
  });

  it('matches Equal and Exists tolerations, effects, and the empty key with Exists', () => {
    const fit = (tolerations: object[]) => filterAll(makePod({ name: 'p', tolerations: tolerations as never }), snap, 'TaintToleration').fit;
    expect(fit([{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoExecute' }])).toEqual(['gpu', 'soft', 'plain']);
    expect(fit([{ key: 'gpu', value: 'false' }])).toEqual(['soft', 'plain']);
    expect(fit([{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }])).toEqual(['soft', 'plain']);
    expect(fit([{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }])).toEqual(['cp', 'soft', 'plain']);
    expect(fit([{ operator: 'Exists' }])).toEqual(['cp', 'gpu', 'soft', 'plain']);
  });

  it('prefers nodes without untolerated PreferNoSchedule taints', () => {
    expect(scores(makePod({ name: 'p' }), snap, 'TaintToleration')).toEqual({ soft: 0, plain: 300 });
    const tolerant = makePod({ name: 'p', tolerations: [{ key: 'spot', operator: 'Exists', effect: 'PreferNoSchedule' }] });
    expect(scores(tolerant, snap, 'TaintToleration')).toEqual({ soft: 300, plain: 300 });
  });
});
