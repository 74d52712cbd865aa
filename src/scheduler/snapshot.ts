// The scheduler's view of the cluster: nodes with the pods assigned to them
// (bound or assumed), updated incrementally, plus the indexes plugins read:
// node label values, pod counts per matcher, and pods grouped by the
// (anti-)affinity terms they carry.
import { CountIndex, type PodMatcher, type TermGroup } from './countindex.js';
import { accountPod, newNodeInfo, setNode, type NodeInfo } from './nodeinfo.js';
import { podInfoOf, withPod, type AffinityTerm, type PodInfo } from './podinfo.js';
import type { Namespace, Node, Pod } from './types.js';
import { podKey } from './types.js';

export type TermKind = 'requiredAffinity' | 'requiredAntiAffinity' | 'preferredAffinity' | 'preferredAntiAffinity';
const termKinds: TermKind[] = ['requiredAffinity', 'requiredAntiAffinity', 'preferredAffinity', 'preferredAntiAffinity'];

export interface SnapshotOptions {
  /** false: every count is recomputed by scanning all pods (the naive baseline). */
  indexes?: boolean;
  /** Most count indexes kept before the least recently used is dropped. */
  maxIndexes?: number;
}

export class Snapshot {
  /** Nodes in a stable order for round-robin sampling. */
  readonly nodeList: NodeInfo[] = [];
  private readonly nodes = new Map<string, NodeInfo>();
  /** Pods whose node is not (yet) in the snapshot. */
  private readonly orphans = new Map<string, Map<string, PodInfo>>();
  private readonly podNode = new Map<string, string>();
  /** Assumed pods -> whether their binding call has completed (awaiting the API's confirmation). */
  private readonly assumed = new Map<string, boolean>();
  /** label key -> value -> number of nodes. */
  private readonly labelIndex = new Map<string, Map<string, number>>();
  /** label key -> number of nodes carrying it. */
  private readonly labelKeyCount = new Map<string, number>();
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly indexes = new Map<string, CountIndex>();
  private readonly groups = new Map<TermKind, Map<string, TermGroup<AffinityTerm>>>(termKinds.map((k) => [k, new Map()]));
  private readonly useIndexes: boolean;
  private readonly maxIndexes: number;
  private readonly nodeLabels = (name: string) => this.nodes.get(name)?.labels;
  readonly nsLabels = (ns: string) => this.namespaces.get(ns);

  constructor(opts: SnapshotOptions = {}) {
    this.useIndexes = opts.indexes ?? true;
    this.maxIndexes = opts.maxIndexes ?? 1024;
  }

  get numNodes(): number {
    return this.nodeList.length;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  /** Adds or replaces a node; pods already assigned to it are kept. */
  upsertNode(node: Node): void {
    const name = node.metadata.name;
    const existing = this.nodes.get(name);
    if (existing) {
      const before = existing.labels;
      this.indexLabels(before, -1);
      setNode(existing, node);
      this.indexLabels(existing.labels, 1);
      if (!sameLabels(before, existing.labels)) this.invalidateDomains();
      return;
    }
    const info = newNodeInfo(node, this.nodeList.length);
    this.nodes.set(name, info);
    this.nodeList.push(info);
    this.indexLabels(info.labels, 1);
    const waiting = this.orphans.get(name);
    if (waiting) {
      this.orphans.delete(name);
      for (const p of waiting.values()) this.place(p, info);
    }
  }

  /** Removes a node; its pods wait as orphans until they are deleted or the node returns. */
  removeNode(name: string): void {
    const info = this.nodes.get(name);
    if (!info) return;
    const pods = [...info.pods.values()];
    for (const p of pods) this.unplace(p, info);
    this.orphans.set(name, new Map(pods.map((p) => [p.key, p])));
    this.indexLabels(info.labels, -1);
    this.nodes.delete(name);
    const last = this.nodeList.pop()!;
    if (last !== info) {
      this.nodeList[info.index] = last;
      last.index = info.index;
    }
  }

  /** Adds or replaces an assigned pod (spec.nodeName set); a pod without a node is removed. */
  upsertPod(pod: Pod): void {
    const key = podKey(pod);
    this.removePod(key);
    this.assumed.delete(key);
    const nodeName = pod.spec.nodeName;
    if (!nodeName) return;
    this.addAssigned(podInfoOf(pod), nodeName);
  }

  removePod(key: string): void {
    const nodeName = this.podNode.get(key);
    if (nodeName === undefined) return;
    this.podNode.delete(key);
    this.assumed.delete(key);
    const info = this.nodes.get(nodeName);
    if (info) {
      const p = info.pods.get(key);
      if (p) this.unplace(p, info);
    } else {
      this.orphans.get(nodeName)?.delete(key);
    }
  }

  /** Records the scheduler's decision before binding completes, so the next cycle sees it. */
  assume(pod: Pod, nodeName: string): Pod {
    const assumedPod: Pod = { ...pod, spec: { ...pod.spec, nodeName } };
    const key = podKey(pod);
    this.removePod(key);
    this.addAssigned(withPod(podInfoOf(pod), assumedPod), nodeName);
    this.assumed.set(key, false);
    return assumedPod;
  }

  /** Drops an assumed pod whose binding failed. */
  forget(key: string): void {
    if (this.assumed.get(key) === false) this.removePod(key);
  }

  /** Binding succeeded: the pod stays assumed until the API's pod event confirms it (upsertPod). */
  finishBinding(key: string): void {
    if (this.assumed.has(key)) this.assumed.set(key, true);
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  hasPod(key: string): boolean {
    return this.podNode.has(key);
  }

  upsertNamespace(ns: Namespace): void {
    this.namespaces.set(ns.metadata.name, ns.metadata.labels ?? {});
    this.dropIndexes();
  }

  removeNamespace(name: string): void {
    this.namespaces.delete(name);
    this.dropIndexes();
  }

  /** Node count per value of a node label key. */
  labelValues(key: string): Map<string, number> | undefined {
    return this.labelIndex.get(key);
  }

  /** Number of nodes that carry a label key. */
  nodesWithLabel(key: string): number {
    return this.labelKeyCount.get(key) ?? 0;
  }

  /** Counts of assigned pods selected by a matcher, maintained incrementally once asked for. */
  countsFor(matcher: PodMatcher): CountIndex {
    const hit = this.indexes.get(matcher.key);
    if (hit) {
      this.indexes.delete(matcher.key);
      this.indexes.set(matcher.key, hit);
      return hit;
    }
    const idx = new CountIndex(matcher, this.nodeLabels);
    for (const info of this.nodeList) {
      let n = 0;
      for (const p of info.pods.values()) if (matcher.matches(p)) n++;
      if (n) idx.add(info, n);
    }
    if (!this.useIndexes) return idx;
    this.indexes.set(matcher.key, idx);
    if (this.indexes.size > this.maxIndexes) this.indexes.delete(this.indexes.keys().next().value!);
    return idx;
  }

  /** Groups of assigned pods by the terms of one kind they carry. */
  termGroups(kind: TermKind): Iterable<TermGroup<AffinityTerm>> {
    if (this.useIndexes) return this.groups.get(kind)!.values();
    const fresh = new Map<string, TermGroup<AffinityTerm>>();
    for (const info of this.nodeList) for (const p of info.pods.values()) addToGroups(fresh, p, kind, info, 1, this.nodeLabels);
    return fresh.values();
  }

  /** Whether any assigned pod carries a term of this kind. */
  hasTerms(kind: TermKind): boolean {
    if (this.useIndexes) return this.groups.get(kind)!.size > 0;
    for (const _ of this.termGroups(kind)) return true;
    return false;
  }

  private addAssigned(p: PodInfo, nodeName: string): void {
    this.podNode.set(p.key, nodeName);
    const info = this.nodes.get(nodeName);
    if (info) this.place(p, info);
    else {
      let m = this.orphans.get(nodeName);
      if (!m) this.orphans.set(nodeName, (m = new Map()));
      m.set(p.key, p);
    }
  }

  private place(p: PodInfo, info: NodeInfo): void {
    accountPod(info, p, 1);
    this.indexPod(p, info, 1);
  }

  private unplace(p: PodInfo, info: NodeInfo): void {
    accountPod(info, p, -1);
    this.indexPod(p, info, -1);
  }

  private indexPod(p: PodInfo, info: NodeInfo, sign: 1 | -1): void {
    if (!this.useIndexes) return;
    for (const idx of this.indexes.values()) if (idx.matcher.matches(p)) idx.add(info, sign);
    for (const kind of termKinds) addToGroups(this.groups.get(kind)!, p, kind, info, sign, this.nodeLabels);
  }

  private indexLabels(labels: Record<string, string>, sign: 1 | -1): void {
    for (const k of Object.keys(labels)) {
      let m = this.labelIndex.get(k);
      if (!m) this.labelIndex.set(k, (m = new Map()));
      const n = (m.get(labels[k]) ?? 0) + sign;
      if (n <= 0) m.delete(labels[k]);
      else m.set(labels[k], n);
      if (m.size === 0) this.labelIndex.delete(k);
      const c = (this.labelKeyCount.get(k) ?? 0) + sign;
      if (c <= 0) this.labelKeyCount.delete(k);
      else this.labelKeyCount.set(k, c);
    }
  }

  private invalidateDomains(): void {
    for (const idx of this.indexes.values()) idx.invalidateDomains();
    for (const g of this.groups.values()) for (const t of g.values()) t.counts.invalidateDomains();
  }

  private dropIndexes(): void {
    this.indexes.clear();
  }
}

function termsOf(p: PodInfo, kind: TermKind): AffinityTerm[] {
  return p[kind];
}

function addToGroups(groups: Map<string, TermGroup<AffinityTerm>>, p: PodInfo, kind: TermKind, info: NodeInfo, sign: 1 | -1, labels: (n: string) => Record<string, string> | undefined): void {
  for (const term of termsOf(p, kind)) {
    const key = `${term.matchKey}|${term.topologyKey}|${term.weight}`;
    let g = groups.get(key);
    if (!g) {
      if (sign < 0) continue;
      g = { term, counts: new CountIndex({ key, matches: () => false }, labels) };
      groups.set(key, g);
    }
    g.counts.add(info, sign);
    if (g.counts.total <= 0) groups.delete(key);
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
