// InterPodAffinity: Filter enforces the pod's required affinity and
// anti-affinity terms and existing pods' required anti-affinity against the
// incoming pod, per topology domain; Score adds and subtracts preferred term
// weights (and existing pods' required affinity at hardPodAffinityWeight).
import { MaxNodeScore, type CycleState, type Plugin } from '../framework.js';
import type { CountIndex } from '../countindex.js';
import type { NodeInfo } from '../nodeinfo.js';
import { termMatches, type AffinityTerm, type PodInfo } from '../podinfo.js';
import type { Snapshot } from '../snapshot.js';
import { constant, skip } from '../status.js';

export const Name = 'InterPodAffinity';
export const ReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
export const ReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";
export const ReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules";
const rejectedAffinity = constant('UnschedulableAndUnresolvable', Name, ReasonAffinityRulesNotMatch);
const rejectedAnti = constant('Unschedulable', Name, ReasonAntiAffinityRulesNotMatch);
const rejectedExisting = constant('Unschedulable', Name, ReasonExistingAntiAffinityRulesNotMatch);

export interface InterPodAffinityArgs {
  /** Weight of existing pods' required affinity terms in scoring (kube default 1). */
  hardPodAffinityWeight?: number;
}

/** topologyKey -> value -> number. */
type TopologyCounts = Map<string, Map<string, number>>;

function bump(m: TopologyCounts, key: string, value: string, n: number): void {
  let inner = m.get(key);
  if (!inner) m.set(key, (inner = new Map()));
  inner.set(value, (inner.get(value) ?? 0) + n);
}

function termIndex(snap: Snapshot, t: AffinityTerm): CountIndex {
  return snap.countsFor({ key: t.matchKey, matches: (p) => termMatches(t, p, snap.nsLabels) });
}

interface FilterState {
  affinity: Map<string, number>[];
  anyAffinity: boolean;
  selfMatchesAll: boolean;
  anti: Map<string, number>[];
  existingAnti: TopologyCounts;
}

const filterKey = 'InterPodAffinity/filter';
const scoreKey = 'InterPodAffinity/score';

function preFilter(state: CycleState, pod: PodInfo, snap: Snapshot) {
  const existingAnti: TopologyCounts = new Map();
  for (const g of snap.termGroups('requiredAntiAffinity')) {
    if (!termMatches(g.term, pod, snap.nsLabels)) continue;
    for (const [v, n] of g.counts.domainCounts(g.term.topologyKey)) bump(existingAnti, g.term.topologyKey, v, n);
  }
  const req = pod.requiredAffinity;
  if (req.length === 0 && pod.requiredAntiAffinity.length === 0 && existingAnti.size === 0) return { status: skip };
  let affinity: Map<string, number>[] = [];
  let anyAffinity = false;
  if (req.length > 0) {
    // A pod counts for affinity only when it matches every required term.
    const all = snap.countsFor({ key: req.map((t) => t.matchKey).join('&&'), matches: (p) => req.every((t) => termMatches(t, p, snap.nsLabels)) });
    affinity = req.map((t) => all.domainCounts(t.topologyKey));
    anyAffinity = affinity.some((m) => m.size > 0);
  }
  const anti = pod.requiredAntiAffinity.map((t) => termIndex(snap, t).domainCounts(t.topologyKey));
  const selfMatchesAll = req.every((t) => termMatches(t, pod, snap.nsLabels));
  state.set(filterKey, { affinity, anyAffinity, selfMatchesAll, anti, existingAnti } satisfies FilterState);
  return null;
}

function filter(state: CycleState, pod: PodInfo, node: NodeInfo) {
  const s = state.get(filterKey) as FilterState;
  const labels = node.labels;
  if (pod.requiredAffinity.length > 0) {
    let podsExist = true;
    for (let i = 0; i < pod.requiredAffinity.length; i++) {
      const v = labels[pod.requiredAffinity[i].topologyKey];
      if (v === undefined) return rejectedAffinity;
      if (!((s.affinity[i].get(v) ?? 0) > 0)) podsExist = false;
    }
    // The first pod of a group with affinity to itself must be able to start somewhere.
    if (!podsExist && !(!s.anyAffinity && s.selfMatchesAll)) return rejectedAffinity;
  }
  for (let i = 0; i < pod.requiredAntiAffinity.length; i++) {
    const v = labels[pod.requiredAntiAffinity[i].topologyKey];
    if (v !== undefined && (s.anti[i].get(v) ?? 0) > 0) return rejectedAnti;
  }
  for (const [key, values] of s.existingAnti) {
    const v = labels[key];
    if (v !== undefined && (values.get(v) ?? 0) > 0) return rejectedExisting;
  }
  return null;
}

function preScoreWith(hardWeight: number) {
  return (state: CycleState, pod: PodInfo, _nodes: NodeInfo[], snap: Snapshot) => {
    const hasOwn = pod.preferredAffinity.length + pod.preferredAntiAffinity.length > 0;
    const hasExisting = (hardWeight > 0 && snap.hasTerms('requiredAffinity')) || snap.hasTerms('preferredAffinity') || snap.hasTerms('preferredAntiAffinity');
    if (!hasOwn && !hasExisting) return skip;
    const scores: TopologyCounts = new Map();
    const own = (terms: AffinityTerm[], sign: number) => {
      for (const t of terms) for (const [v, n] of termIndex(snap, t).domainCounts(t.topologyKey)) bump(scores, t.topologyKey, v, sign * t.weight * n);
    };
    own(pod.preferredAffinity, 1);
    own(pod.preferredAntiAffinity, -1);
    const existing = (kind: 'requiredAffinity' | 'preferredAffinity' | 'preferredAntiAffinity', sign: number, weight?: number) => {
      for (const g of snap.termGroups(kind)) {
        if (!termMatches(g.term, pod, snap.nsLabels)) continue;
        const w = weight ?? g.term.weight;
        for (const [v, n] of g.counts.domainCounts(g.term.topologyKey)) bump(scores, g.term.topologyKey, v, sign * w * n);
      }
    };
    if (hardWeight > 0) existing('requiredAffinity', 1, hardWeight);
    existing('preferredAffinity', 1);
    existing('preferredAntiAffinity', -1);
    if (scores.size === 0) return skip;
    state.set(scoreKey, scores);
    return null;
  };
}

function score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
  const scores = state.get(scoreKey) as TopologyCounts;
  let s = 0;
  for (const [key, values] of scores) {
    const v = node.labels[key];
    if (v !== undefined) s += values.get(v) ?? 0;
  }
  return s;
}

function normalizeScore(_state: CycleState, _pod: PodInfo, _nodes: NodeInfo[], scores: Float64Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const diff = max - min;
  for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc((MaxNodeScore * (scores[i] - min)) / diff) : 0;
}

export function interPodAffinity(args?: unknown): Plugin {
  const hardWeight = (args as InterPodAffinityArgs | undefined)?.hardPodAffinityWeight ?? 1;
  return { name: Name, preFilter, filter, preScore: preScoreWith(hardWeight), score, normalizeScore };
}
