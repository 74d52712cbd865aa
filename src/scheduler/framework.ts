// The scheduling framework: plugins registered by name, run at the
// PreFilter, Filter, PreScore, Score and NormalizeScore extension points;
// a node's score is sum_k weight_k * normalizedScore_k(node), each plugin's
// score in 0..100 like kube-scheduler's MaxNodeScore.
import { SchedulerConfigError } from './errors.js';
import type { NodeInfo } from './nodeinfo.js';
import type { PodInfo } from './podinfo.js';
import type { Snapshot } from './snapshot.js';
import type { Status } from './status.js';

export const MaxNodeScore = 100;

/** Per-cycle scratch space plugins share between their extension points. */
export type CycleState = Map<string, unknown>;

export interface PreFilterOutcome {
  /** Skip: this plugin's Filter is not needed for this pod; Unschedulable*: no node can fit. */
  status?: Status | null;
  /** Only these nodes can fit (for example a pod pinned by metadata.name). */
  nodeNames?: Set<string>;
}

export interface Plugin {
  readonly name: string;
  preFilter?(state: CycleState, pod: PodInfo, snap: Snapshot): PreFilterOutcome | null;
  /** null when the node fits. */
  filter?(state: CycleState, pod: PodInfo, node: NodeInfo, snap: Snapshot): Status | null;
  /** Return skip to leave this plugin out of scoring for the pod. */
  preScore?(state: CycleState, pod: PodInfo, nodes: NodeInfo[], snap: Snapshot): Status | null;
  score?(state: CycleState, pod: PodInfo, node: NodeInfo, snap: Snapshot): number;
  /** Rescales raw scores in place to 0..MaxNodeScore. */
  normalizeScore?(state: CycleState, pod: PodInfo, nodes: NodeInfo[], scores: Float64Array): void;
}

export type PluginFactory = (args?: unknown) => Plugin;

export interface PluginConfig {
  name: string;
  /** Score weight; defaults to the registry's default for the plugin, else 1. */
  weight?: number;
  args?: unknown;
}

export interface Profile {
  schedulerName?: string;
  plugins: PluginConfig[];
  /** 0 or unset: kube-scheduler's adaptive default; 100: score every feasible node. */
  percentageOfNodesToScore?: number;
}

/** Plugin factories by name, with each plugin's default score weight. */
export class Registry {
  private readonly factories = new Map<string, { factory: PluginFactory; weight: number }>();

  register(name: string, factory: PluginFactory, defaultWeight = 1): this {
    if (this.factories.has(name)) throw new SchedulerConfigError(`plugin ${name} registered twice`);
    this.factories.set(name, { factory, weight: defaultWeight });
    return this;
  }

  build(cfg: PluginConfig): { plugin: Plugin; weight: number } {
    const entry = this.factories.get(cfg.name);
    if (!entry) throw new SchedulerConfigError(`unknown scheduler plugin ${cfg.name}`);
    return { plugin: entry.factory(cfg.args), weight: cfg.weight ?? entry.weight };
  }
}

export interface PreFilterResult {
  status: Status | null;
  nodeNames?: Set<string>;
  /** Plugins whose PreFilter restricted the candidate nodes. */
  restrictedBy?: string[];
  /** Filter plugins to run for this pod (PreFilter did not skip them). */
  filters: Plugin[];
}

export class Framework {
  private readonly plugins: Plugin[];
  private readonly scorers: { plugin: Plugin; weight: number }[];
  readonly percentageOfNodesToScore: number;

  constructor(profile: Profile, registry: Registry) {
    const built = profile.plugins.map((c) => registry.build(c));
    this.plugins = built.map((b) => b.plugin);
    this.scorers = built.filter((b) => b.plugin.score && b.weight > 0);
    this.percentageOfNodesToScore = profile.percentageOfNodesToScore ?? 0;
  }

  get pluginNames(): string[] {
    return this.plugins.map((p) => p.name);
  }

  runPreFilter(state: CycleState, pod: PodInfo, snap: Snapshot): PreFilterResult {
    const filters: Plugin[] = [];
    let nodeNames: Set<string> | undefined;
    const restricting: string[] = [];
    for (const p of this.plugins) {
      let skipped = false;
      if (p.preFilter) {
        const out = p.preFilter(state, pod, snap);
        const st = out?.status;
        if (st && st.code !== 'Success') {
          if (st.code === 'Skip') skipped = true;
          else return { status: { ...st, plugin: p.name }, filters };
        }
        if (out?.nodeNames) {
          restricting.push(p.name);
          nodeNames = nodeNames ? new Set([...nodeNames].filter((n) => out.nodeNames!.has(n))) : out.nodeNames;
          if (nodeNames.size === 0) {
            const reason = restricting.length > 1 ? `node(s) didn't satisfy plugin(s) [${[...restricting].sort().join(' ')}] simultaneously` : `node(s) didn't satisfy plugin ${p.name}`;
            return { status: { code: 'Unschedulable', reasons: [reason], plugin: p.name }, filters };
          }
        }
      }
      if (p.filter && !skipped) filters.push(p);
    }
    return { status: null, nodeNames, filters, restrictedBy: restricting };
  }

  /** Runs Filter plugins in order, stopping at the first rejection. */
  runFilter(filters: Plugin[], state: CycleState, pod: PodInfo, node: NodeInfo, snap: Snapshot): Status | null {
    for (const p of filters) {
      const st = p.filter!(state, pod, node, snap);
      if (st) {
        if (st.plugin === undefined) st.plugin = p.name;
        return st;
      }
    }
    return null;
  }

  /** Weighted sum of normalized plugin scores for each node, in node order. */
  runScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[], snap: Snapshot): Float64Array {
    const total = new Float64Array(nodes.length);
    const scores = new Float64Array(nodes.length);
    for (const { plugin, weight } of this.scorers) {
      if (plugin.preScore) {
        const st = plugin.preScore(state, pod, nodes, snap);
        if (st && st.code === 'Skip') continue;
      }
      for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score!(state, pod, nodes[i], snap);
      plugin.normalizeScore?.(state, pod, nodes, scores);
      for (let i = 0; i < nodes.length; i++) total[i] += weight * scores[i];
    }
    return total;
  }
}

/** kube-scheduler's defaults for percentageOfNodesToScore. */
export const minFeasibleNodesToFind = 100;
export const minFeasibleNodesPercentageToFind = 5;

/** How many feasible nodes to find before scoring (kube's numFeasibleNodesToFind). */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < minFeasibleNodesToFind || percentage >= 100) return numAllNodes;
  let adaptive = percentage;
  if (adaptive <= 0) {
    adaptive = 50 - Math.trunc(numAllNodes / 125);
    if (adaptive < minFeasibleNodesPercentageToFind) adaptive = minFeasibleNodesPercentageToFind;
  }
  const n = Math.trunc((numAllNodes * adaptive) / 100);
  return n < minFeasibleNodesToFind ? minFeasibleNodesToFind : n;
}

/** kube's DefaultNormalizeScore: scale to 0..max by the highest score, optionally reversed. */
export function defaultNormalize(scores: Float64Array, reverse: boolean, max = MaxNodeScore): void {
  let top = 0;
  for (const s of scores) if (s > top) top = s;
  if (top === 0) {
    if (reverse) scores.fill(max);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((max * scores[i]) / top);
    scores[i] = reverse ? max - s : s;
  }
}
