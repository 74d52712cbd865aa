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
  /** Sorted, without duplicates. */
  entries: PolicyEntry[];
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
        const numeric = specs.filter((s) => s.kind === 'numeric');
        const shared = crossPeers('ingress', peers, numeric);
        const namedSpecs = specs.filter((s) => s.kind === 'named');
        for (const b of selected) {
          b.addAll(shared);
          // Ingress named ports name the selected pod's own container ports.
          for (const s of namedSpecs) {
            for (const port of resolveNamedPort(b.pod, s.name, s.proto)) {
              for (const t of peers) b.add({ direction: 'ingress', identity: t.identity, proto: s.proto, portStart: port, portEnd: port });
            }
          }
        }
      }
    }
    if (types.includes('Egress')) {
      for (const b of selected) b.egressEnforced = true;
      for (const rule of pol.spec.egress ?? []) {
        const peers = resolvePeers(rule.to, ns, u);
        const specs = portSpecs(rule.ports);
        const entries = crossPeers('egress', peers, specs.filter((s) => s.kind === 'numeric'));
        for (const s of specs) if (s.kind === 'named') entries.push(...named.egressEntries(s, peers, u));
        for (const b of selected) b.addAll(entries);
      }
    }
  }

  const endpoints = new Map<string, EndpointPolicy>();
  for (const [key, b] of builders) endpoints.set(key, b.build());
  return { endpoints, podIdentities: u.podIdentity, cidrIdentities: u.cidrIdentities, ipcache: u.ipcache };
}

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

class EndpointBuilder {
  ingressEnforced = false;
  egressEnforced = false;
  private readonly entries = new Map<string, PolicyEntry>();

  constructor(readonly pod: Pod) {}

  add(e: PolicyEntry): void {
    const k = entryKey(e);
    if (!this.entries.has(k)) this.entries.set(k, e);
  }

  addAll(es: PolicyEntry[]): void {
    for (const e of es) this.add(e);
  }

  build(): EndpointPolicy {
    // Entries for a direction that is not enforced are dead weight: an
    // unenforced direction allows everything. (They can only arise from a
    // policy whose policyTypes exclude a direction it has rules for, which
    // we already skip, so this is belt and braces.)
    const entries = [...this.entries.values()]
      .filter((e) => (e.direction === 'ingress' ? this.ingressEnforced : this.egressEnforced))
      .sort(compareEntries);
    return { ingressEnforced: this.ingressEnforced, egressEnforced: this.egressEnforced, entries };
  }
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
