// One scheduling cycle for one pod: PreFilter, Filter over a round-robin
// sample of nodes (percentageOfNodesToScore), Score, and the pick of the
// highest total with ties broken at random, or a kube-style FitError.
import { Framework, numFeasibleNodesToFind, type Profile, type Registry } from './framework.js';
import type { NodeInfo } from './nodeinfo.js';
import { podInfoOf } from './podinfo.js';
import { defaultProfile, defaultRegistry } from './plugins/index.js';
import type { Snapshot } from './snapshot.js';
import { reasonCounts, unresolvable, unschedulableMessage, type Diagnosis, type Status } from './status.js';
import type { Pod } from './types.js';

export interface Scheduled {
  node: string;
  /** Nodes that passed Filter (at most the sampling target). */
  feasible: number;
  /** Nodes Filter ran on. */
  evaluated: number;
}

export interface Unschedulable {
  unschedulable: string;
  /** Reason -> number of nodes, as in the message. */
  reasons: Record<string, number>;
  diagnosis: Diagnosis;
}

export type ScheduleResult = Scheduled | Unschedulable;

export interface AlgorithmOptions {
  profile?: Profile;
  registry?: Registry;
  /** Tie-break source in [0, 1); Math.random by default. */
  random?: () => number;
  /** Append kube's "preemption: ..." sentence to unschedulable messages (default true). */
  preemptionMessage?: boolean;
}

export const NoNodesAvailable = 'no nodes available to schedule pods';

/** The scheduling algorithm with its round-robin position; one per scheduler. */
export class Algorithm {
  readonly framework: Framework;
  private nextStartNodeIndex = 0;
  private readonly random: () => number;
  private readonly preemptionMessage: boolean;

  constructor(opts: AlgorithmOptions = {}) {
    this.framework = new Framework(opts.profile ?? defaultProfile(), opts.registry ?? defaultRegistry());
    this.random = opts.random ?? Math.random;
    this.preemptionMessage = opts.preemptionMessage ?? true;
  }

  schedule(pod: Pod, snap: Snapshot): ScheduleResult {
    const p = podInfoOf(pod);
    const numAll = snap.numNodes;
    const diagnosis: Diagnosis = { numAllNodes: numAll, nodeStatus: new Map(), unschedulablePlugins: new Set() };
    if (numAll === 0) return { unschedulable: NoNodesAvailable, reasons: {}, diagnosis };
    const state = new Map<string, unknown>();
    const pre = this.framework.runPreFilter(state, p, snap);
    if (pre.status) {
      diagnosis.absentStatus = pre.status;
      if (pre.status.plugin) diagnosis.unschedulablePlugins.add(pre.status.plugin);
      return this.fitError(diagnosis);
    }
    let candidates: NodeInfo[] = snap.nodeList;
    let start = this.nextStartNodeIndex % numAll;
    if (pre.nodeNames) {
      candidates = [];
      for (const n of pre.nodeNames) {
        const info = snap.node(n);
        if (info) candidates.push(info);
      }
      start = 0;
      diagnosis.absentStatus = unresolvable(`node(s) didn't satisfy plugin(s) [${[...pre.restrictedBy!].sort().join(' ')}]`);
      for (const name of pre.restrictedBy!) diagnosis.unschedulablePlugins.add(name);
    }
    const n = candidates.length;
    const want = numFeasibleNodesToFind(this.framework.percentageOfNodesToScore, n);
    const feasible: NodeInfo[] = [];
    // Rejections are kept as parallel arrays; the diagnosis map is built only on failure.
    const failedNodes: NodeInfo[] = [];
    const failedStatus: Status[] = [];
    let evaluated = 0;
    for (; evaluated < n && feasible.length < want; evaluated++) {
      let i = start + evaluated;
      if (i >= n) i -= n;
      const node = candidates[i];
      const st: Status | null = this.framework.runFilter(pre.filters, state, p, node, snap);
      if (st) {
        failedNodes.push(node);
        failedStatus.push(st);
      } else feasible.push(node);
    }
    if (!pre.nodeNames) this.nextStartNodeIndex = (start + evaluated) % numAll;
    if (feasible.length === 0) {
      for (let i = 0; i < failedNodes.length; i++) {
        diagnosis.nodeStatus.set(failedNodes[i].name, failedStatus[i]);
        const plugin = failedStatus[i].plugin;
        if (plugin) diagnosis.unschedulablePlugins.add(plugin);
      }
      return this.fitError(diagnosis);
    }
    if (feasible.length === 1) return { node: feasible[0].name, feasible: 1, evaluated };
    const scores = this.framework.runScore(state, p, feasible, snap);
    return { node: feasible[this.pick(scores)].name, feasible: feasible.length, evaluated };
  }

  /** Index of the highest score; equal scores are chosen uniformly (reservoir sampling). */
  private pick(scores: Float64Array): number {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < scores.length; i++) {
      if (scores[i] > scores[best]) {
        best = i;
        ties = 1;
      } else if (scores[i] === scores[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return best;
  }

  private fitError(d: Diagnosis): Unschedulable {
    return { unschedulable: unschedulableMessage(d, this.preemptionMessage), reasons: reasonCounts(d), diagnosis: d };
  }
}

/** Schedules one pod against a snapshot with the default profile (fresh round-robin state). */
export function schedule(pod: Pod, snapshot: Snapshot, algorithm: Algorithm = new Algorithm()): ScheduleResult {
  return algorithm.schedule(pod, snapshot);
}
