// The policy compiler: NetworkPolicies + pods + namespaces → for each pod
// endpoint, whether each direction is enforced and the (peer identity,
// protocol, port range) entries it allows, plus the ipcache those identities
// are looked up in.
//
// Why identities are enough: everything a podSelector/namespaceSelector peer
// can observe about a pod is its namespace name, its namespace's labels and
// its own labels, which is exactly an identity's key. Two pods with one
// identity are therefore selected by exactly the same peers of every policy,
// so "peer identity allowed" equals "peer pod allowed" for every pair. Ports
// are resolved per endpoint (ingress: the endpoint's own named ports), so the
// destination side is exact too. The two places where per-pod facts leak in
// are ipBlock peers that cover pod IPs (see peers.ts: exact unless pods of
// one identity disagree, then fails closed) and egress named ports (resolved
// against each peer identity's pods; if pods of one identity map a name to
// different numbers, the union is allowed to all of them).
import { buildUniverse, policyPods, resolvePeers, type PeerTarget, type Universe } from './peers.js';
import { portSpecs, resolveNamedPort, type PortSpec } from './ports.js';
import type { IdentityResolver } from './identity.js';
import type { IpcacheEntry } from './ipcache.js';
import { matchesSelector } from './selectors.js';
import { objectKey, type ClusterState, type NetworkPolicy, type Pod, type PolicyType, type ProtoNumber } from './types.js';

export type Direction = 'ingress' | 'egress';

/** One allow entry. identity 0 = any peer; proto 0 = any; portStart..portEnd 0..0 = any port. */
export interface PolicyEntry {
  direction: Direction;
  identity: number;
  proto: ProtoNumber;
  portStart: number;
  portEnd: number;
}

/** An endpoint's compiled policy; an unenforced direction allows everything. */
export interface EndpointPolicy {
  ingressEnforced: boolean;
  egressEnforced: boolean;
  /** Sorted, without duplicates; frozen and shared between endpoints with equal policies. */
  entries: readonly PolicyEntry[];
}

export interface CompiledPolicies {
  /** Per pod, keyed "namespace/name". */
  endpoints: Map<string, EndpointPolicy>;
  /** Pod "namespace/name" → its identity. */
  podIdentities: Map<string, number>;
  /** Canonical CIDR → CIDR identity (ipBlock CIDRs and except holes). */
  cidrIdentities: Map<string, number>;
  /** Everything the ipcache LPM map must hold. */
  ipcache: IpcacheEntry[];
}

export interface CompileOptions {
  /** Which pods to compile endpoint policies for (default: all; an agent passes its node's). */
  endpoint?: (pod: Pod) => boolean;
}

/** The policyTypes a policy applies to, with Kubernetes' defaulting. */
export function effectivePolicyTypes(pol: NetworkPolicy): PolicyType[] {
  if (pol.spec.policyTypes && pol.spec.policyTypes.length > 0) return pol.spec.policyTypes;
  return (pol.spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Compiles every policy for every endpoint pod. */
export function compilePolicies(state: ClusterState, ids: IdentityResolver, opts: CompileOptions = {}): CompiledPolicies {
  const u = buildUniverse(state, ids);
  const builders = new Map<string, EndpointBuilder>();
  for (const pod of policyPods(state.pods)) {
    if (!opts.endpoint || opts.endpoint(pod)) builders.set(objectKey(pod.metadata), new EndpointBuilder(pod));
  }
  const parts = new Parts();
  const named = new NamedPortCache();

  for (const pol of state.policies) {
    const ns = pol.metadata.namespace ?? 'default';
    const selected = (u.podsByNs.get(ns) ?? [])
      .map((p) => builders.get(objectKey(p.metadata)))
      .filter((b): b is EndpointBuilder => b !== undefined && matchesSelector(pol.spec.podSelector ?? {}, b.pod.metadata.labels));
    if (selected.length === 0) continue;
    const types = effectivePolicyTypes(pol);
    if (types.includes('Ingress')) {
      for (const b of selected) b.ingressEnforced = true;
      for (const rule of pol.spec.ingress ?? []) {
        const peers = resolvePeers(rule.from, ns, u);
        const specs = portSpecs(rule.ports);
        const shared = parts.make(crossPeers('ingress', peers, specs));
        const namedSpecs = specs.filter((s) => s.kind === 'named');
        const ruleId = parts.nextRuleId();
        for (const b of selected) {
          b.add(shared);
          if (namedSpecs.length === 0) continue;
          // Ingress named ports name the selected pod's own container ports;
          // pods resolving them alike share one part.
          const resolved: PortSpec[] = namedSpecs.flatMap((s) =>
            s.kind === 'named' ? resolveNamedPort(b.pod, s.name, s.proto).map((port) => ({ kind: 'numeric' as const, proto: s.proto, portStart: port, portEnd: port })) : [],
          );
          const sig = `${ruleId}|${resolved.map((r) => (r.kind === 'numeric' ? `${r.proto}/${r.portStart}` : '')).join(',')}`;
          b.add(parts.cached(sig, () => crossPeers('ingress', peers, resolved)));
        }
      }
    }
    if (types.includes('Egress')) {
      for (const b of selected) b.egressEnforced = true;
      for (const rule of pol.spec.egress ?? []) {
        const peers = resolvePeers(rule.to, ns, u);
        const specs = portSpecs(rule.ports);
        const entries = crossPeers('egress', peers, specs);
        for (const s of specs) if (s.kind === 'named') entries.push(...named.egressEntries(s, peers, u));
        const part = parts.make(entries);
        for (const b of selected) b.add(part);
      }
    }
  }

  const endpoints = new Map<string, EndpointPolicy>();
  for (const [key, b] of builders) endpoints.set(key, parts.build(b));
  return { endpoints, podIdentities: u.podIdentity, cidrIdentities: u.cidrIdentities, ipcache: u.ipcache };
}

/** Numeric (proto, port range) specs × peers; named specs are skipped. */
function crossPeers(direction: Direction, peers: PeerTarget[], specs: PortSpec[]): PolicyEntry[] {
  const out: PolicyEntry[] = [];
  for (const t of peers) {
    for (const s of specs) {
      if (s.kind === 'numeric') out.push({ direction, identity: t.identity, proto: s.proto, portStart: s.portStart, portEnd: s.portEnd });
    }
  }
  return out;
}

// Egress named ports name the *destination* pod's container ports, so they
// turn into per-peer-identity entries. A peer list of "anyone" becomes every
// pod identity that has such a port; addresses outside the cluster have no
// named ports and are not allowed by such a rule.
class NamedPortCache {
  private readonly cache = new Map<string, PolicyEntry[]>();

  egressEntries(s: Extract<PortSpec, { kind: 'named' }>, peers: PeerTarget[], u: Universe): PolicyEntry[] {
    const targets = peers.length === 1 && peers[0].identity === 0 ? u.groups.map((g) => ({ identity: g.id, group: g })) : peers;
    const out: PolicyEntry[] = [];
    for (const t of targets) {
      if (!t.group) continue;
      const ck = `${t.identity}|${s.proto}|${s.name}`;
      let es = this.cache.get(ck);
      if (!es) {
        const ports = new Set<number>();
        for (const pod of t.group.pods) for (const p of resolveNamedPort(pod, s.name, s.proto)) ports.add(p);
        es = [...ports].map((p) => ({ direction: 'egress' as const, identity: t.identity, proto: s.proto, portStart: p, portEnd: p }));
        this.cache.set(ck, es);
      }
      out.push(...es);
    }
    return out;
  }
}

/** A sorted, duplicate-free, frozen run of entries contributed by one rule. */
interface Part {
  id: number;
  entries: readonly PolicyEntry[];
}

// Endpoints selected by the same rules get the same entries, and at scale
// most entries come from a few broad rules selecting many pods. So rules
// produce shared parts, and an endpoint's policy is the merge of its parts,
// memoized by the set of parts: the entries array is shared (and frozen)
// between endpoints with equal policies instead of rebuilt per pod.
class Parts {
  private nextId = 1;
  private ruleIds = 0;
  private readonly byKey = new Map<string, Part>();
  private readonly built = new Map<string, readonly PolicyEntry[]>();


  nextRuleId(): number {
    return ++this.ruleIds;
  }

  make(entries: PolicyEntry[]): Part {
    return { id: this.nextId++, entries: Object.freeze(sortUnique(entries)) };
  }

  cached(key: string, f: () => PolicyEntry[]): Part {
    let p = this.byKey.get(key);
    if (!p) this.byKey.set(key, (p = this.make(f())));
    return p;
  }

  build(b: EndpointBuilder): EndpointPolicy {
    // Parts of a direction that is not enforced are dropped: an unenforced
    // direction allows everything, whatever entries it has.
    const ingress: Part[] = [];
    const egress: Part[] = [];
    for (const p of b.parts.values()) {
      if (p.entries.length === 0) continue;
      if (p.entries[0].direction === 'ingress') {
        if (b.ingressEnforced) ingress.push(p);
      } else if (b.egressEnforced) egress.push(p);
    }
    // Ingress entries sort before egress ones, so each direction is merged
    // on its own and the two are simply concatenated.
    const i = this.merge(ingress);
    const e = this.merge(egress);
    const key = `${i.id}+${e.id}`;
    let entries = this.built.get(key);
    if (!entries) {
      entries = i.entries.length === 0 ? e.entries : e.entries.length === 0 ? i.entries : Object.freeze([...i.entries, ...e.entries]);
      this.built.set(key, entries);
    }
    return { ingressEnforced: b.ingressEnforced, egressEnforced: b.egressEnforced, entries };
  }

  private merge(ps: Part[]): Part {
    if (ps.length === 1) return ps[0];
    if (ps.length === 0) return EMPTY_PART;
    const key = `m|${ps
      .map((p) => p.id)
      .sort((x, y) => x - y)
      .join(',')}`;
    return this.cached(key, () => ps.flatMap((p) => p.entries));
  }
}

const EMPTY_PART: Part = { id: 0, entries: Object.freeze([]) };

class EndpointBuilder {
  ingressEnforced = false;
  egressEnforced = false;
  readonly parts = new Map<number, Part>();

  constructor(readonly pod: Pod) {}

  add(p: Part): void {
    this.parts.set(p.id, p);
  }
}

function sortUnique(es: PolicyEntry[]): PolicyEntry[] {
  const sorted = [...es].sort(compareEntries);
  const out: PolicyEntry[] = [];
  for (const e of sorted) if (out.length === 0 || compareEntries(out[out.length - 1], e) !== 0) out.push(e);
  return out;
}

/** Stable string key of an entry (also the diff key in policyUpdate). */
export function entryKey(e: PolicyEntry): string {
  return `${e.direction}|${e.identity}|${e.proto}|${e.portStart}|${e.portEnd}`;
}

export function compareEntries(a: PolicyEntry, b: PolicyEntry): number {
  return (
    (a.direction === b.direction ? 0 : a.direction === 'ingress' ? -1 : 1) ||
    a.identity - b.identity ||
    a.proto - b.proto ||
    a.portStart - b.portStart ||
    a.portEnd - b.portEnd
  );
}
