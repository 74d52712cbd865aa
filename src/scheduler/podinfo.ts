// Everything the plugins need from a pod, computed once per pod object:
// requests, host ports, compiled node affinity and compiled pod affinity
// terms with their index keys.
import { compileLabelSelector, compileMapSelector, compileNodeTerm, type NodeTerm, type Selector } from './selectors.js';
import { podRequests, type Resources } from './resources.js';
import type { LabelSelector, Node, Pod, PodAffinityTerm, Toleration } from './types.js';
import { podKey } from './types.js';

/** A pod affinity term resolved against its owner pod (namespaces, matchLabelKeys). */
export interface AffinityTerm {
  /** Identifies (namespaces, selector) for count indexes; excludes topologyKey. */
  readonly matchKey: string;
  readonly topologyKey: string;
  readonly selector: Selector;
  /** Explicit namespaces (the owner's own when neither list nor selector is set). */
  readonly namespaces: Set<string>;
  readonly namespaceSelector: Selector | null;
  readonly weight: number;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export interface PodInfo {
  readonly pod: Pod;
  readonly key: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly terminating: boolean;
  readonly requests: Resources;
  readonly nonZeroRequests: Resources;
  readonly hostPorts: HostPort[];
  readonly tolerations: Toleration[];
  /** spec.nodeSelector and required node affinity together. */
  readonly requiredNodeAffinity: { matches(node: Node): boolean; names?: Set<string>; trivial: boolean };
  readonly requiredAffinity: AffinityTerm[];
  readonly requiredAntiAffinity: AffinityTerm[];
  readonly preferredAffinity: AffinityTerm[];
  readonly preferredAntiAffinity: AffinityTerm[];
}

function mergeLabelKeys(sel: LabelSelector | null | undefined, labels: Record<string, string>, inKeys?: string[], notInKeys?: string[]): LabelSelector | null | undefined {
  if (!sel || (!inKeys?.length && !notInKeys?.length)) return sel;
  const extra = [
    ...(inKeys ?? []).filter((k) => labels[k] !== undefined).map((k) => ({ key: k, operator: 'In' as const, values: [labels[k]] })),
    ...(notInKeys ?? []).filter((k) => labels[k] !== undefined).map((k) => ({ key: k, operator: 'NotIn' as const, values: [labels[k]] })),
  ];
  return { matchLabels: sel.matchLabels, matchExpressions: [...(sel.matchExpressions ?? []), ...extra] };
}

/** Resolves a pod affinity term for a pod in `namespace` with `labels`. */
export function compileAffinityTerm(t: PodAffinityTerm, namespace: string, labels: Record<string, string>, weight = 1): AffinityTerm {
  const selector = compileLabelSelector(mergeLabelKeys(t.labelSelector, labels, t.matchLabelKeys, t.mismatchLabelKeys));
  const namespaceSelector = t.namespaceSelector ? compileLabelSelector(t.namespaceSelector) : null;
  const namespaces = new Set(t.namespaces ?? []);
  if (namespaces.size === 0 && !namespaceSelector) namespaces.add(namespace);
  const nsKey = [...namespaces].sort().join(',') + (namespaceSelector ? `|nssel:${namespaceSelector.key}` : '');
  return { matchKey: `aff|${nsKey}|${selector.key}`, topologyKey: t.topologyKey, selector, namespaces, namespaceSelector, weight };
}

/** Whether `term` selects pod `p` (namespace labels come from the snapshot). */
export function termMatches(term: AffinityTerm, p: PodInfo, nsLabels: (ns: string) => Record<string, string> | undefined): boolean {
  if (!term.namespaces.has(p.namespace)) {
    if (!term.namespaceSelector || !term.namespaceSelector.matches(nsLabels(p.namespace))) return false;
  }
  return term.selector.matches(p.labels);
}

function hostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(pod.spec.initContainers ?? []).filter((i) => i.restartPolicy === 'Always'), ...(pod.spec.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

function requiredNodeAffinity(pod: Pod): PodInfo['requiredNodeAffinity'] {
  const sel = compileMapSelector(pod.spec.nodeSelector);
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms: NodeTerm[] | undefined = required ? (required.nodeSelectorTerms ?? []).map(compileNodeTerm) : undefined;
  let names: Set<string> | undefined;
  if (terms && terms.length > 0 && terms.every((t) => t.names)) {
    names = new Set();
    for (const t of terms) for (const n of t.names!) names.add(n);
  }
  const noSelector = sel.key === '<everything>';
  return {
    names,
    trivial: noSelector && !terms,
    matches(node) {
      if (!noSelector && !sel.matches(node.metadata.labels)) return false;
      if (!terms) return true;
      for (const t of terms) if (t.matches(node)) return true;
      return false;
    },
  };
}

const cache = new WeakMap<Pod, PodInfo>();

/** PodInfo for a pod object, cached for as long as the object lives. */
export function podInfoOf(pod: Pod): PodInfo {
  const hit = cache.get(pod);
  if (hit) return hit;
  const namespace = pod.metadata.namespace ?? 'default';
  const labels = pod.metadata.labels ?? {};
  const aff = pod.spec.affinity;
  const req = (terms: PodAffinityTerm[] | undefined) => (terms ?? []).map((t) => compileAffinityTerm(t, namespace, labels));
  const pref = (terms: { weight: number; podAffinityTerm: PodAffinityTerm }[] | undefined) =>
    (terms ?? []).filter((w) => w.weight !== 0).map((w) => compileAffinityTerm(w.podAffinityTerm, namespace, labels, w.weight));
  const info: PodInfo = {
    pod,
    key: podKey(pod),
    namespace,
    labels,
    terminating: pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null,
    requests: podRequests(pod),
    nonZeroRequests: podRequests(pod, true),
    hostPorts: hostPorts(pod),
    tolerations: pod.spec.tolerations ?? [],
    requiredNodeAffinity: requiredNodeAffinity(pod),
    requiredAffinity: req(aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    requiredAntiAffinity: req(aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    preferredAffinity: pref(aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinity: pref(aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
  };
  cache.set(pod, info);
  return info;
}

/** The same pod info for a copy of the pod that differs only in spec.nodeName. */
export function withPod(info: PodInfo, pod: Pod): PodInfo {
  const copy: PodInfo = { ...info, pod };
  cache.set(pod, copy);
  return copy;
}
