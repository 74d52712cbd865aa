// PodTopologySpread: Filter enforces maxSkew for DoNotSchedule constraints
// (skew = matching pods in the node's domain + self - global minimum, the
// minimum being 0 while fewer than minDomains domains exist); Score prefers
// domains with fewer matching pods for ScheduleAnyway constraints.
import { MaxNodeScore, type CycleState, type Plugin } from '../framework.js';
import type { CountIndex } from '../countindex.js';
import type { NodeInfo } from '../nodeinfo.js';
import type { PodInfo } from '../podinfo.js';
import { compileLabelSelector, firstUntolerated } from '../selectors.js';
import type { Snapshot } from '../snapshot.js';
import { constant, skip } from '../status.js';
import { LabelHostname, type LabelSelector, type Taint, type TopologySpreadConstraint } from '../types.js';

export const Name = 'PodTopologySpread';
export const ReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";
export const ReasonNodeLabelNotMatch = ReasonConstraintsNotMatch + ' (missing required label)';
const rejectedSkew = constant('Unschedulable', Name, ReasonConstraintsNotMatch);
const rejectedLabel = constant('UnschedulableAndUnresolvable', Name, ReasonNodeLabelNotMatch);

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
  selfMatch: number;
  index: CountIndex;
}

const hard = (t: Taint) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';

function withMatchLabelKeys(sel: LabelSelector | null | undefined, keys: string[] | undefined, labels: Record<string, string>): LabelSelector | null | undefined {
  if (!sel || !keys?.length) return sel;
  const extra = keys.filter((k) => labels[k] !== undefined).map((k) => ({ key: k, operator: 'In' as const, values: [labels[k]] }));
  return { matchLabels: sel.matchLabels, matchExpressions: [...(sel.matchExpressions ?? []), ...extra] };
}

function constraintsOf(pod: PodInfo, snap: Snapshot, when: TopologySpreadConstraint['whenUnsatisfiable']): Constraint[] {
  const out: Constraint[] = [];
  for (const c of pod.pod.spec.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== when) continue;
    const selector = compileLabelSelector(withMatchLabelKeys(c.labelSelector, c.matchLabelKeys, pod.labels));
    const ns = pod.namespace;
    const index = snap.countsFor({ key: `tsc|${ns}|${selector.key}`, matches: (p) => p.namespace === ns && !p.terminating && selector.matches(p.labels) });
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      minDomains: when === 'DoNotSchedule' ? (c.minDomains ?? 1) : 1,
      honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
      honorTaints: c.nodeTaintsPolicy === 'Honor',
      selfMatch: selector.matches(pod.labels) ? 1 : 0,
      index,
    });
  }
  return out;
}

function hasAllKeys(node: NodeInfo, cs: Constraint[]): boolean {
  for (const c of cs) if (node.labels[c.topologyKey] === undefined) return false;
  return true;
}

function eligible(c: Constraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.honorAffinity && !pod.requiredNodeAffinity.trivial && !pod.requiredNodeAffinity.matches(node.node)) return false;
  if (c.honorTaints && node.taints.length > 0 && firstUntolerated(node.taints, pod.tolerations, hard)) return false;
  return true;
}

/** True when every node counts for every constraint, so index domain sums can be used as they are. */
function allNodesEligible(cs: Constraint[], pod: PodInfo, snap: Snapshot): boolean {
  for (const c of cs) {
    if (c.honorTaints || (c.honorAffinity && !pod.requiredNodeAffinity.trivial)) return false;
    if (snap.nodesWithLabel(c.topologyKey) !== snap.numNodes) return false;
  }
  return true;
}

interface Domains {
  /** Matching pods per domain; a domain may be absent when its count is 0. */
  counts: Map<string, number>;
  /** Number of domains, including those with no matching pod. */
  size: number;
}

/** Matching pod count per domain of each constraint, over the nodes the constraint counts. */
function domainCounts(cs: Constraint[], pod: PodInfo, snap: Snapshot): Domains[] {
  if (allNodesEligible(cs, pod, snap)) {
    return cs.map((c) => ({ counts: c.index.domainCounts(c.topologyKey), size: snap.labelValues(c.topologyKey)!.size }));
  }
  const out = cs.map(() => new Map<string, number>());
  for (const node of snap.nodeList) {
    if (!hasAllKeys(node, cs)) continue;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      if (!eligible(c, pod, node)) continue;
      const v = node.labels[c.topologyKey];
      out[i].set(v, (out[i].get(v) ?? 0) + (c.index.byNode.get(node.name) ?? 0));
    }
  }
  return out.map((counts) => ({ counts, size: counts.size }));
}

function minMatch(d: Domains, minDomains: number): number {
  if (d.size < minDomains || d.counts.size < d.size) return 0;
  let m = Infinity;
  for (const n of d.counts.values()) if (n < m) m = n;
  return m === Infinity ? 0 : m;
}

interface FilterState {
  cs: Constraint[];
  counts: Map<string, number>[];
  min: number[];
}

interface ScoreState {
  cs: Constraint[];
  counts: Map<string, number>[];
  weights: number[];
  ignored: Set<string>;
}

const filterKey = 'PodTopologySpread/filter';
const scoreKey = 'PodTopologySpread/score';

function preFilter(state: CycleState, pod: PodInfo, snap: Snapshot) {
  const cs = constraintsOf(pod, snap, 'DoNotSchedule');
  if (cs.length === 0) return { status: skip };
  const counts = domainCounts(cs, pod, snap);
  const min = cs.map((c, i) => minMatch(counts[i], c.minDomains));
  state.set(filterKey, { cs, counts: counts.map((d) => d.counts), min } satisfies FilterState);
  return null;
}

function preScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[], snap: Snapshot) {
  const cs = constraintsOf(pod, snap, 'ScheduleAnyway');
  if (cs.length === 0) return skip;
  const ignored = new Set<string>();
  const domains = cs.map(() => new Set<string>());
  for (const n of nodes) {
    if (!hasAllKeys(n, cs)) ignored.add(n.name);
    else {
      for (let i = 0; i < cs.length; i++) if (cs[i].topologyKey !== LabelHostname) domains[i].add(n.labels[cs[i].topologyKey]);
    }
  }
  const scored = nodes.length - ignored.size;
  const weights = cs.map((c, i) => Math.log((c.topologyKey === LabelHostname ? scored : domains[i].size) + 2));
  const all = domainCounts(cs, pod, snap);
  state.set(scoreKey, { cs, counts: all.map((d) => d.counts), weights, ignored } satisfies ScoreState);
  return null;
}

function score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
  const s = state.get(scoreKey) as ScoreState;
  if (s.ignored.has(node.name)) return 0;
  let total = 0;
  for (let i = 0; i < s.cs.length; i++) {
    const c = s.cs[i];
    const v = node.labels[c.topologyKey];
    const cnt = c.topologyKey === LabelHostname ? (c.index.byNode.get(node.name) ?? 0) : (s.counts[i].get(v) ?? 0);
    total += cnt * s.weights[i] + (c.maxSkew - 1);
  }
  return Math.round(total);
}

function normalizeScore(state: CycleState, _pod: PodInfo, nodes: NodeInfo[], scores: Float64Array): void {
  const s = state.get(scoreKey) as ScoreState;
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < nodes.length; i++) {
    if (s.ignored.has(nodes[i].name)) continue;
    if (scores[i] < min) min = scores[i];
    if (scores[i] > max) max = scores[i];
  }
  for (let i = 0; i < nodes.length; i++) {
    if (s.ignored.has(nodes[i].name)) scores[i] = 0;
    else if (max === 0) scores[i] = MaxNodeScore;
    else scores[i] = Math.trunc((MaxNodeScore * (max + min - scores[i])) / max);
  }
}

export function podTopologySpread(): Plugin {
  return {
    name: Name,
    preFilter,
    filter(state, _pod, node) {
      const s = state.get(filterKey) as FilterState;
      for (let i = 0; i < s.cs.length; i++) {
        const c = s.cs[i];
        const v = node.labels[c.topologyKey];
        if (v === undefined) return rejectedLabel;
        const skew = (s.counts[i].get(v) ?? 0) + c.selfMatch - s.min[i];
        if (skew > c.maxSkew) return rejectedSkew;
      }
      return null;
    },
    preScore,
    score,
    normalizeScore,
  };
}
