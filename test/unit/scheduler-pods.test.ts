// PodTopologySpread and InterPodAffinity: constraints between pods, counted
// per topology domain from the snapshot's incremental indexes.
import { describe, expect, it } from 'vitest';
import { makeNode, makePod, type NodeSpec } from '../../src/scheduler/fixtures.js';
import { Framework } from '../../src/scheduler/framework.js';
import { podInfoOf } from '../../src/scheduler/podinfo.js';
import { defaultRegistry } from '../../src/scheduler/plugins/index.js';
import { Snapshot } from '../../src/scheduler/snapshot.js';
import type { Pod, PodAffinityTerm, TopologySpreadConstraint } from '../../src/scheduler/types.js';

function cluster(nodes: NodeSpec[], pods: Pod[] = [], indexes = true): Snapshot {
  const snap = new Snapshot({ indexes });
  for (const n of nodes) snap.upsertNode(makeNode(n));
  for (const p of pods) snap.upsertPod(p);
  return snap;
}

function run(pod: Pod, snap: Snapshot, plugin: string) {
  const fw = new Framework({ plugins: [{ name: plugin }], percentageOfNodesToScore: 100 }, defaultRegistry());
  const state = new Map<string, unknown>();
  const p = podInfoOf(pod);
  const pre = fw.runPreFilter(state, p, snap);
  const fit: string[] = [];
  const reasons: Record<string, string[]> = {};
  for (const n of snap.nodeList) {
    const st = fw.runFilter(pre.filters, state, p, n, snap);
    if (st) reasons[n.name] = st.reasons;
    else fit.push(n.name);
  }
  const fitting = snap.nodeList.filter((n) => fit.includes(n.name));
  const s = fw.runScore(state, p, fitting, snap);
  return { fit, reasons, scores: Object.fromEntries(fitting.map((n, i) => [n.name, s[i]])) };
}

const zones: NodeSpec[] = [
  { name: 'a1', labels: { zone: 'a' } },
  { name: 'a2', labels: { zone: 'a' } },
  { name: 'b1', labels: { zone: 'b' } },
  { name: 'c1', labels: { zone: 'c', pool: 'edge' } },
];
const web = (name: string, nodeName?: string, extra: Record<string, string> = {}) => makePod({ name, nodeName, labels: { app: 'web', ...extra } });
const spread = (c: Partial<TopologySpreadConstraint>): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey: 'zone',
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchLabels: { app: 'web' } },
  ...c,
});

describe('PodTopologySpread', () => {
  const tsc = "node(s) didn't match pod topology spread constraints";

  it('keeps skew within maxSkew across zones', () => {
    const snap = cluster(zones, [web('w1', 'a1'), web('w2', 'b1')]);
    const pod = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({})] });
    // a=1 b=1 c=0: placing in a or b makes skew 2.
    expect(run(pod, snap, 'PodTopologySpread')).toMatchObject({ fit: ['c1'], reasons: { a1: [tsc], a2: [tsc], b1: [tsc] } });
  });

  it('ignores pods in other namespaces, other labels and terminating pods', () => {
    const other = makePod({ name: 'o', namespace: 'other', nodeName: 'c1', labels: { app: 'web' } });
    const dying = web('d', 'c1');
    dying.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const snap = cluster(zones, [web('w1', 'a1'), web('w2', 'b1'), other, dying, makePod({ name: 'db', nodeName: 'c1', labels: { app: 'db' } })]);
    const pod = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({})] });
    expect(run(pod, snap, 'PodTopologySpread').fit).toEqual(['c1']);
  });

  it('rejects nodes missing the topology label as unresolvable', () => {
    const snap = cluster([...zones, { name: 'bare' }]);
    const pod = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({})] });
    expect(run(pod, snap, 'PodTopologySpread').reasons.bare).toEqual([tsc + ' (missing required label)']);
  });

  it('treats the global minimum as 0 while fewer than minDomains domains exist', () => {
    const snap = cluster(zones.slice(0, 3), [web('w1', 'a1'), web('w2', 'b1')]);
    const base = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({})] });
    expect(run(base, snap, 'PodTopologySpread').fit).toEqual(['a1', 'a2', 'b1']);
    const withMin = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({ minDomains: 3 })] });
    expect(run(withMin, snap, 'PodTopologySpread').fit).toEqual([]);
  });

  it('counts only nodes matching the pod node affinity (nodeAffinityPolicy Honor), unless Ignore', () => {
    const snap = cluster(zones, [web('w1', 'a1'), web('w2', 'b1')]);
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a', 'b'] }] }] } } };
    // Honor: zone c (excluded by the pod's affinity) does not count, so the minimum is 1.
    const honor = makePod({ name: 'p', labels: { app: 'web' }, affinity, spread: [spread({})] });
    expect(run(honor, snap, 'PodTopologySpread').fit).toEqual(['a1', 'a2', 'b1', 'c1']);
    // Ignore: empty zone c counts, the minimum is 0 and zones a and b are full.
    const ignore = makePod({ name: 'p', labels: { app: 'web' }, affinity, spread: [spread({ nodeAffinityPolicy: 'Ignore' })] });
    expect(run(ignore, snap, 'PodTopologySpread').fit).toEqual(['c1']);
  });

  it('excludes tainted nodes from counting only with nodeTaintsPolicy Honor', () => {
    const nodes = [...zones.slice(0, 3), { name: 'c1', labels: { zone: 'c' }, taints: [{ key: 'k', effect: 'NoSchedule' as const }] }];
    const snap = cluster(nodes, [web('w1', 'a1'), web('w2', 'b1')]);
    const honor = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({ nodeTaintsPolicy: 'Honor' })] });
    expect(run(honor, snap, 'PodTopologySpread').fit).toEqual(['a1', 'a2', 'b1', 'c1']);
    const ignore = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({})] });
    expect(run(ignore, snap, 'PodTopologySpread').fit).toEqual(['c1']);
  });

  it('scores emptier domains higher for ScheduleAnyway', () => {
    const snap = cluster(zones, [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1')]);
    const pod = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({ whenUnsatisfiable: 'ScheduleAnyway' })] });
    const s = run(pod, snap, 'PodTopologySpread').scores;
    expect(s.c1).toBeGreaterThan(s.b1);
    expect(s.b1).toBeGreaterThan(s.a1);
    expect(s.a1).toBe(s.a2);
  });

  it('gives the same answers with and without incremental indexes', () => {
    const pods = [web('w1', 'a1'), web('w2', 'b1'), web('w3', 'a2')];
    const pod = makePod({ name: 'p', labels: { app: 'web' }, spread: [spread({}), spread({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' })] });
    const indexed = cluster(zones, []);
    for (const p of pods) indexed.upsertPod(p);
    indexed.upsertNode(makeNode({ name: 'b1', labels: { zone: 'c' } }));
    const naive = cluster(zones, pods, false);
    naive.upsertNode(makeNode({ name: 'b1', labels: { zone: 'c' } }));
    expect(run(pod, indexed, 'PodTopologySpread')).toEqual(run(pod, naive, 'PodTopologySpread'));
  });
});

const term = (app: string, topologyKey = 'zone', extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchLabels: { app } }, topologyKey, ...extra });

describe('InterPodAffinity', () => {
  const aff = "node(s) didn't match pod affinity rules";
  const anti = "node(s) didn't match pod anti-affinity rules";
  const existing = "node(s) didn't satisfy existing pods anti-affinity rules";

  it('requires a matching pod in the same domain for required affinity', () => {
    const snap = cluster(zones, [makePod({ name: 'db', nodeName: 'a2', labels: { app: 'db' } })]);
    const pod = makePod({ name: 'p', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db')] } } });
    expect(run(pod, snap, 'InterPodAffinity')).toMatchObject({ fit: ['a1', 'a2'], reasons: { b1: [aff], c1: [aff] } });
  });

  it('lets the first pod of a self-affine group start anywhere', () => {
    const snap = cluster(zones);
    const pod = makePod({ name: 'p', labels: { app: 'cache' }, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('cache')] } } });
    expect(run(pod, snap, 'InterPodAffinity').fit).toEqual(['a1', 'a2', 'b1', 'c1']);
    const stranger = makePod({ name: 'q', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('cache')] } } });
    expect(run(stranger, snap, 'InterPodAffinity').fit).toEqual([]);
  });

  it('rejects domains holding a pod the incoming pod is anti-affine to', () => {
    const snap = cluster(zones, [web('w1', 'a1')]);
    const pod = makePod({ name: 'p', labels: { app: 'web' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', 'kubernetes.io/hostname')] } } });
    expect(run(pod, snap, 'InterPodAffinity')).toMatchObject({ fit: ['a2', 'b1', 'c1'], reasons: { a1: [anti] } });
    const byZone = makePod({ name: 'p', affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web')] } } });
    expect(run(byZone, snap, 'InterPodAffinity').fit).toEqual(['b1', 'c1']);
  });

  it("honours existing pods' anti-affinity against the incoming pod", () => {
    const loner = makePod({ name: 'loner', nodeName: 'b1', labels: { app: 'loner' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web')] } } });
    const snap = cluster(zones, [loner]);
    expect(run(web('p'), snap, 'InterPodAffinity')).toMatchObject({ fit: ['a1', 'a2', 'c1'], reasons: { b1: [existing] } });
    expect(run(makePod({ name: 'q', labels: { app: 'other' } }), snap, 'InterPodAffinity').fit).toHaveLength(4);
    snap.removePod('default/loner');
    expect(run(web('p'), snap, 'InterPodAffinity').fit).toHaveLength(4);
  });

  it('matches namespaces by list and by namespaceSelector', () => {
    const snap = cluster(zones, [makePod({ name: 'db', namespace: 'data', nodeName: 'b1', labels: { app: 'db' } })]);
    snap.upsertNamespace({ metadata: { name: 'data', labels: { team: 'storage' } } });
    const own = makePod({ name: 'p', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db')] } } });
    expect(run(own, snap, 'InterPodAffinity').fit).toEqual([]);
    const listed = makePod({ name: 'p', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', 'zone', { namespaces: ['data'] })] } } });
    expect(run(listed, snap, 'InterPodAffinity').fit).toEqual(['b1']);
    const selected = makePod({ name: 'p', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', 'zone', { namespaceSelector: { matchLabels: { team: 'storage' } } })] } } });
    expect(run(selected, snap, 'InterPodAffinity').fit).toEqual(['b1']);
    const all = makePod({ name: 'p', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', 'zone', { namespaceSelector: {} })] } } });
    expect(run(all, snap, 'InterPodAffinity').fit).toEqual(['b1']);
  });

  it('scores preferred affinity up and preferred anti-affinity down', () => {
    const snap = cluster(zones, [makePod({ name: 'db', nodeName: 'a1', labels: { app: 'db' } }), web('w', 'b1')]);
    const pod = makePod({
      name: 'p',
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term('db') }] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term('web') }] },
      },
    });
    // zone a +50, zone b -100, zone c 0 -> normalized a 100, c 66, b 0; weight 2.
    expect(run(pod, snap, 'InterPodAffinity').scores).toEqual({ a1: 200, a2: 200, b1: 0, c1: 132 });
  });

  it("scores existing pods' preferred terms towards the incoming pod", () => {
    const fan = makePod({ name: 'fan', nodeName: 'c1', labels: { app: 'fan' }, affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term('web') }] } } });
    const snap = cluster(zones, [fan]);
    const s = run(web('p'), snap, 'InterPodAffinity').scores;
    expect(s).toEqual({ a1: 0, a2: 0, b1: 0, c1: 200 });
  });
});
