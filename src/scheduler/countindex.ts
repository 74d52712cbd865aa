// Counts of pods matching one matcher, per node and per topology domain,
// kept up to date as pods come and go so topology spread and inter-pod
// affinity read counts instead of scanning every pod on every cycle.
import type { NodeInfo } from './nodeinfo.js';
import type { PodInfo } from './podinfo.js';

export interface PodMatcher {
  /** Equal for matchers that select the same pods. */
  readonly key: string;
  matches(p: PodInfo): boolean;
}

export class CountIndex {
  readonly byNode = new Map<string, number>();
  total = 0;
  /** topologyKey -> label value -> count; built lazily per key. */
  private readonly domains = new Map<string, Map<string, number>>();

  constructor(
    readonly matcher: PodMatcher,
    private readonly nodeLabels: (node: string) => Record<string, string> | undefined,
  ) {}

  /** Adds (sign 1) or removes (sign -1) n pods on a node. */
  add(node: NodeInfo, sign: number): void {
    const n = (this.byNode.get(node.name) ?? 0) + sign;
    if (n === 0) this.byNode.delete(node.name);
    else this.byNode.set(node.name, n);
    this.total += sign;
    for (const [key, m] of this.domains) {
      const v = node.labels[key];
      if (v === undefined) continue;
      const c = (m.get(v) ?? 0) + sign;
      if (c === 0) m.delete(v);
      else m.set(v, c);
    }
  }

  /** Count per value of `topologyKey` over nodes carrying that label; zero counts are absent. */
  domainCounts(topologyKey: string): Map<string, number> {
    let m = this.domains.get(topologyKey);
    if (m) return m;
    m = new Map();
    for (const [name, n] of this.byNode) {
      const v = this.nodeLabels(name)?.[topologyKey];
      if (v !== undefined) m.set(v, (m.get(v) ?? 0) + n);
    }
    this.domains.set(topologyKey, m);
    return m;
  }

  /** Node labels changed: domain sums are rebuilt on next use. */
  invalidateDomains(): void {
    this.domains.clear();
  }
}

/** Pods that carry one particular (anti-)affinity term, grouped for matching against an incoming pod. */
export interface TermGroup<T> {
  readonly term: T;
  readonly counts: CountIndex;
}
