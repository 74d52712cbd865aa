// Incremental NetworkPolicy compilation: keeps the inputs and everything
// derived from them between runs and, given the next cluster state, redoes
// only what the differences can affect. The result equals compilePolicies
// over the same state (test/unit/policy-incremental.test.ts checks this on
// random change sequences); compiler.ts stays the reference.
//
// What depends on what:
//   policy add/update/delete -> that policy's rule entries; the endpoints its
//     podSelector selects (before or after) are rebuilt;
//   pod add/delete/relabel    -> its identity group; every peer entry is
//     tested against a created, emptied or re-addressed group only; policies
//     whose peers changed are recompiled; a local endpoint re-evaluates which
//     policies select it;
//   namespace labels          -> the identities of the pods in it (as above);
//   pod IPs / ipBlock CIDRs   -> the ipcache and ipBlock peers.
// Egress named ports read every peer group's container ports; policies with
// them are rare, so any pod change recompiles them.
import { compareEntries, effectivePolicyTypes, type CompiledPolicies, type EndpointPolicy, type PolicyEntry } from './compiler.js';
import { identityKey, IDENTITY_ANY, type IdentityResolver } from './identity.js';
import { parseIPv4 } from './cidr.js';
import { IncrementalIpcache, policyCidrs } from './incremental-ipcache.js';
import { newPeerEntry, peerKey, setBlockCidrs, updateMembership, type Group, type PeerEntry, type PodRecord } from './peer-index.js';
import { portSpecs, resolveNamedPort, type PortSpec } from './ports.js';
import { matchesSelector } from './selectors.js';
import { objectKey, podIPv4s, type ClusterState, type Labels, type NetworkPolicy, type NetworkPolicyPeer, type Pod } from './types.js';

interface Target {
  identity: number;
  group?: Group;
}
type NamedSpec = Extract<PortSpec, { kind: 'named' }>;

interface PolicyRecord {
  key: string;
  pol: NetworkPolicy;
  ns: string;
  /** JSON of the spec: a new object with the same spec changes nothing. */
  sig: string;
  ingress: boolean;
  egress: boolean;
  /** Peer entry keys held, one per (rule, peer). */
  peerKeys: string[];
  cidrs: string[];
  hasEgressNamed: boolean;
  ingressEntries: PolicyEntry[];
  /** Ingress rules with named ports: resolved against each selected endpoint's own pod. */
  ingressNamed: { targets: Target[]; specs: NamedSpec[] }[];
  egressEntries: PolicyEntry[];
  /** Changes on every recompile; endpoints with equal policy revisions share one entries array. */
  rev: number;
}

interface EndpointRecord {
  key: string;
  rec: PodRecord;
  policies: Set<PolicyRecord>;
  policy: EndpointPolicy;
}

export interface IncrementalResult {
  compiled: CompiledPolicies;
  /** Endpoints whose EndpointPolicy object changed (or that are gone) since the previous compile. */
  changedEndpoints: Set<string>;
  /** ipcache CIDRs whose identity changed (undefined = removed) since the previous compile. */
  ipcacheChanges: Map<string, number | undefined>;
}

const ANY_TARGETS: Target[] = [{ identity: IDENTITY_ANY }];
const OPEN: EndpointPolicy = Object.freeze({ ingressEnforced: false, egressEnforced: false, entries: Object.freeze([]) as readonly PolicyEntry[] });

export class IncrementalCompiler {
  private readonly nsLabels = new Map<string, Labels | undefined>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly podsByNs = new Map<string, Set<PodRecord>>();
  private readonly groups = new Map<string, Group>();
  private readonly policies = new Map<string, PolicyRecord>();
  private readonly policiesByNs = new Map<string, Set<PolicyRecord>>();
  private readonly peers = new Map<string, PeerEntry>();
  private readonly endpointRecs = new Map<string, EndpointRecord>();
  private readonly endpointsByNs = new Map<string, Set<EndpointRecord>>();
  private readonly groupsByNs = new Map<string, Set<Group>>();
  private local: ReadonlySet<string> | undefined = undefined;
  private allLocal = true;
  private rev = 0;
  private last: Partial<ClusterState> = {};
  // Pending work between update() and compile().
  private readonly changedPolicies = new Map<string, NetworkPolicy | undefined>();
  private readonly dirtyPolicies = new Set<string>();
  private readonly reselect = new Set<string>();
  private readonly dirtyEndpoints = new Set<string>();
  private readonly removedEndpoints = new Set<string>();
  private readonly dirtyPodIds = new Set<string>();
  private readonly changedGroups = new Set<Group>();
  private identitiesChanged = true;
  // Outputs, kept live.
  private readonly endpoints = new Map<string, EndpointPolicy>();
  private readonly podIdentities = new Map<string, number>();
  private readonly ipcache = new IncrementalIpcache();

  /**
   * Takes the next state (and which pods are endpoints: default all) and
   * records what changed; returns whether the set of identity keys changed
   * (callers with asynchronous identities allocate them before compile()).
   */
  update(state: ClusterState, endpoints?: ReadonlySet<string>): { identitiesChanged: boolean } {
    this.updateLocal(endpoints);
    // The very array passed last time is taken as unchanged (callers that
    // re-list only after an event pass it again); a changed namespace
    // re-keys its pods through the stored records, not the array.
    if (state.namespaces !== this.last.namespaces) this.updateNamespaces(state);
    if (state.pods !== this.last.pods) this.updatePods(state.pods);
    if (state.policies !== this.last.policies) this.updatePolicies(state.policies);
    this.last = { namespaces: state.namespaces, pods: state.pods, policies: state.policies };
    return { identitiesChanged: this.identitiesChanged };
  }

  /** One pod per identity group, for allocators that derive keys from pods. */
  identityPods(): Pod[] {
    return [...this.groups.values()].map((g) => g.pods.values().next().value!.pod);
  }

  /** Brings every output up to date with the last update() and returns it. */
  compile(ids: IdentityResolver): IncrementalResult {
    this.identitiesChanged = false;
    this.assignIdentities(ids);
    const ipcacheChanges = this.refreshIpcache(ids);
    for (const [key, pol] of this.changedPolicies) this.replacePolicy(key, pol);
    this.changedPolicies.clear();
    for (const key of this.dirtyPolicies) {
      const rec = this.policies.get(key);
      if (rec) this.recompilePolicy(rec);
    }
    this.dirtyPolicies.clear();
    for (const key of this.reselect) {
      const ep = this.endpointRecs.get(key);
      if (!ep) continue;
      ep.policies.clear();
      for (const rec of this.policiesByNs.get(ep.rec.namespace) ?? []) {
        if (matchesSelector(rec.pol.spec.podSelector ?? {}, ep.rec.pod.metadata.labels)) ep.policies.add(rec);
      }
    }
    this.reselect.clear();
    const changedEndpoints = new Set(this.removedEndpoints);
    this.removedEndpoints.clear();
    const memo = new Map<string, EndpointPolicy>();
    for (const key of this.dirtyEndpoints) {
      const ep = this.endpointRecs.get(key);
      if (!ep) continue;
      const next = this.buildEndpoint(ep, memo);
      if (!samePolicy(ep.policy, next)) {
        ep.policy = next;
        this.endpoints.set(key, next);
        changedEndpoints.add(key);
      } else if (!this.endpoints.has(key)) {
        this.endpoints.set(key, ep.policy);
        changedEndpoints.add(key);
      }
    }
    this.dirtyEndpoints.clear();
    return {
      compiled: { endpoints: this.endpoints, podIdentities: this.podIdentities, cidrIdentities: this.ipcache.cidrIdentities, ipcache: this.ipcache.entries() },
      changedEndpoints,
      ipcacheChanges,
    };
  }

  // --- inputs -------------------------------------------------------------

  private updateLocal(endpoints: ReadonlySet<string> | undefined): void {
    const all = endpoints === undefined;
    const before = this.local;
    const wasAll = this.allLocal;
    this.local = endpoints === undefined ? undefined : new Set(endpoints);
    this.allLocal = all;
    const isLocal = (k: string) => all || this.local!.has(k);
    const wasLocal = (k: string) => wasAll || before!.has(k);
    if (all && wasAll) return;
    // Only pods whose membership can differ: the union of both key sets, or all pods when either side is "all".
    const candidates = all || wasAll ? this.pods.keys() : new Set([...before!, ...this.local!]).values();
    for (const k of candidates) {
      const rec = this.pods.get(k);
      if (!rec) continue;
      if (isLocal(k) && !wasLocal(k)) this.addEndpoint(rec);
      else if (!isLocal(k) && wasLocal(k)) this.dropEndpoint(k);
    }
  }

  private isLocal(key: string): boolean {
    return this.allLocal || this.local!.has(key);
  }

  private updateNamespaces(state: ClusterState): void {
    const next = new Map<string, Labels | undefined>();
    for (const n of state.namespaces) next.set(n.metadata.name, n.metadata.labels);
    const changed: string[] = [];
    for (const [name, labels] of next) {
      if (!this.nsLabels.has(name) || !sameLabels(this.nsLabels.get(name), labels)) changed.push(name);
    }
    for (const name of this.nsLabels.keys()) if (!next.has(name)) changed.push(name);
    this.nsLabels.clear();
    for (const [k, v] of next) this.nsLabels.set(k, v);
    // A namespace's labels are part of its pods' identities: re-key them.
    for (const ns of changed) {
      for (const rec of [...(this.podsByNs.get(ns) ?? [])]) this.setPod(rec.key, rec.pod, true);
    }
  }

  private updatePods(pods: readonly Pod[]): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      if (pod.spec.hostNetwork) continue; // outside NetworkPolicy, as policyPods()
      const key = objectKey(pod.metadata);
      seen.add(key);
      const rec = this.pods.get(key);
      if (rec && (rec.pod === pod || sameVersion(rec.pod, pod))) continue;
      this.setPod(key, pod, false);
    }
    for (const key of [...this.pods.keys()]) if (!seen.has(key)) this.removePod(key);
  }

  private updatePolicies(pols: readonly NetworkPolicy[]): void {
    // The view to compare with: a change recorded but not compiled yet, else the compiled policy.
    const current = (key: string) => (this.changedPolicies.has(key) ? this.changedPolicies.get(key) : this.policies.get(key)?.pol);
    const seen = new Set<string>();
    for (const pol of pols) {
      const key = objectKey(pol.metadata);
      seen.add(key);
      const cur = current(key);
      if (cur && (cur === pol || sameVersion(cur, pol))) continue;
      const rec = this.policies.get(key);
      const curSig = cur === undefined ? undefined : !this.changedPolicies.has(key) && rec ? rec.sig : JSON.stringify(cur.spec);
      if (curSig !== undefined && curSig === JSON.stringify(pol.spec)) {
        // Same spec in a new object (a resync, a metadata-only change): nothing to compile.
        if (this.changedPolicies.has(key)) this.changedPolicies.set(key, pol);
        else rec!.pol = pol;
        continue;
      }
      this.trackCidrs(cur, pol);
      this.changedPolicies.set(key, pol);
    }
    for (const key of [...this.policies.keys(), ...this.changedPolicies.keys()]) {
      if (seen.has(key)) continue;
      const cur = current(key);
      if (cur === undefined) continue;
      this.trackCidrs(cur, undefined);
      this.changedPolicies.set(key, undefined);
    }
  }

  // ipBlock CIDRs of all policies decide the ipcache's non-pod prefixes.
  private trackCidrs(old: NetworkPolicy | undefined, next: NetworkPolicy | undefined): void {
    this.ipcache.trackPolicy(old, next);
  }

  private setPod(key: string, pod: Pod, force: boolean): void {
    const ns = pod.metadata.namespace ?? 'default';
    const ips = podIPv4s(pod);
    const gkey = identityKey(ns, this.nsLabels.get(ns), pod.metadata.labels);
    const sig = `${gkey}\n${ips.join(',')}\n${JSON.stringify(pod.spec.containers?.map((c) => c.ports ?? []) ?? [])}`;
    const old = this.pods.get(key);
    if (old && old.sig === sig && !force) {
      old.pod = pod;
      if (this.endpointRecs.has(key)) this.endpointRecs.get(key)!.rec = old;
      return;
    }
    if (old) this.detachPod(old);
    const rec: PodRecord = { key, pod, namespace: ns, group: this.joinGroup(gkey, ns, pod), ips, addrs: ips.map(parseIPv4).filter((n): n is number => n !== undefined), sig };
    rec.group.pods.set(key, rec);
    this.pods.set(key, rec);
    addTo(this.podsByNs, ns, rec);
    for (const ip of ips) this.ipcache.own(ip, rec, true);
    this.dirtyPodIds.add(key);
    this.groupChanged(rec.group);
    if (this.isLocal(key)) this.addEndpoint(rec);
  }

  private removePod(key: string): void {
    const rec = this.pods.get(key);
    if (!rec) return;
    this.detachPod(rec);
    this.pods.delete(key);
    this.dirtyPodIds.add(key);
    this.dropEndpoint(key);
  }

  private detachPod(rec: PodRecord): void {
    const g = rec.group;
    g.pods.delete(rec.key);
    this.podsByNs.get(rec.namespace)?.delete(rec);
    for (const ip of rec.ips) this.ipcache.own(ip, rec, false);
    if (g.pods.size === 0) {
      this.groups.delete(g.key);
      this.groupsByNs.get(g.namespace)?.delete(g);
      this.identitiesChanged = true;
    }
    this.groupChanged(g);
  }

  private joinGroup(key: string, ns: string, pod: Pod): Group {
    let g = this.groups.get(key);
    if (!g) {
      g = { key, namespace: ns, nsLabels: this.nsLabels.get(ns) ?? {}, podLabels: pod.metadata.labels ?? {}, pods: new Map(), id: 0 };
      this.groups.set(key, g);
      addTo(this.groupsByNs, ns, g);
      this.identitiesChanged = true;
    }
    return g;
  }

  // A group appeared, emptied or changed members: every peer re-tests it
  // (membership of selector peers only changes on appear/empty, ipBlock
  // peers also read members' addresses), and named egress ports may differ.
  private groupChanged(g: Group): void {
    this.changedGroups.add(g);
    this.ipcache.groupsChanged();
  }

  private addEndpoint(rec: PodRecord): void {
    const ep = this.endpointRecs.get(rec.key);
    if (ep) ep.rec = rec;
    else {
      const fresh: EndpointRecord = { key: rec.key, rec, policies: new Set(), policy: OPEN };
      this.endpointRecs.set(rec.key, fresh);
      addTo(this.endpointsByNs, rec.namespace, fresh);
    }
    this.removedEndpoints.delete(rec.key);
    this.reselect.add(rec.key);
    this.dirtyEndpoints.add(rec.key);
  }

  private dropEndpoint(key: string): void {
    const ep = this.endpointRecs.get(key);
    if (!ep) return;
    this.endpointRecs.delete(key);
    this.endpointsByNs.get(ep.rec.namespace)?.delete(ep);
    this.endpoints.delete(key);
    this.removedEndpoints.add(key);
    this.dirtyEndpoints.delete(key);
    this.reselect.delete(key);
  }

  // --- compile steps --------------------------------------------------------

  private assignIdentities(ids: IdentityResolver): void {
    // Every group is asked every time: resolvers that hold references until
    // a sweep (HeldIdentities) must see each key in use on each compile.
    for (const g of this.groups.values()) {
      const id = ids.pod(g.key);
      if (id === g.id) continue;
      const fresh = g.id === 0;
      g.id = id;
      if (!fresh) {
        // An identity renumbered under us: everything that printed it is stale.
        for (const rec of this.policies.values()) this.dirtyPolicies.add(rec.key);
        for (const p of g.pods.values()) this.dirtyPodIds.add(p.key);
        this.ipcache.renumbered(g);
      }
    }
    for (const key of this.dirtyPodIds) {
      const rec = this.pods.get(key);
      if (rec) this.podIdentities.set(key, rec.group.id);
      else this.podIdentities.delete(key);
    }
    this.dirtyPodIds.clear();
    // Group changes reach the peer entries (ids are now known for new groups).
    const egressNamedDirty = this.changedGroups.size > 0;
    for (const g of this.changedGroups) {
      const live = this.groups.get(g.key) === g;
      for (const e of this.peers.values()) {
        const changed = live ? updateMembership(e, g) : e.groups.delete(g);
        if (changed) for (const user of e.users.keys()) this.dirtyPolicies.add(user);
      }
    }
    this.changedGroups.clear();
    if (egressNamedDirty) for (const rec of this.policies.values()) if (rec.hasEgressNamed) this.dirtyPolicies.add(rec.key);
  }

  private refreshIpcache(ids: IdentityResolver): Map<string, number | undefined> {
    const { changes, prefixesChanged, renumbered } = this.ipcache.refresh(ids);
    if (prefixesChanged) {
      for (const e of this.peers.values()) {
        if (setBlockCidrs(e, this.ipcache.prefixes) || (renumbered && e.block)) for (const user of e.users.keys()) this.dirtyPolicies.add(user);
      }
    }
    return changes;
  }

  private replacePolicy(key: string, pol: NetworkPolicy | undefined): void {
    const old = this.policies.get(key);
    if (old) {
      this.releasePeers(old);
      this.policies.delete(key);
      this.policiesByNs.get(old.ns)?.delete(old);
      for (const ep of this.endpointsIn(old.ns)) {
        if (ep.policies.delete(old)) this.dirtyEndpoints.add(ep.key);
      }
    }
    this.dirtyPolicies.delete(key);
    if (!pol) return;
    const ns = pol.metadata.namespace ?? 'default';
    const types = effectivePolicyTypes(pol);
    const rec: PolicyRecord = {
      key, pol, ns, sig: JSON.stringify(pol.spec), ingress: types.includes('Ingress'), egress: types.includes('Egress'),
      peerKeys: [], cidrs: policyCidrs(pol), hasEgressNamed: false, ingressEntries: [], ingressNamed: [], egressEntries: [], rev: 0,
    };
    this.compileRules(rec);
    this.policies.set(key, rec);
    addTo(this.policiesByNs, ns, rec);
    for (const ep of this.endpointsIn(ns)) {
      if (matchesSelector(pol.spec.podSelector ?? {}, ep.rec.pod.metadata.labels)) {
        ep.policies.add(rec);
        this.dirtyEndpoints.add(ep.key);
      }
    }
  }

  private recompilePolicy(rec: PolicyRecord): void {
    this.releasePeers(rec);
    this.compileRules(rec);
    for (const ep of this.endpointsIn(rec.ns)) if (ep.policies.has(rec)) this.dirtyEndpoints.add(ep.key);
  }

  private endpointsIn(ns: string): Iterable<EndpointRecord> {
    return this.endpointsByNs.get(ns) ?? [];
  }

  private compileRules(rec: PolicyRecord): void {
    const spec = rec.pol.spec;
    rec.rev = ++this.rev;
    rec.ingressEntries = [];
    rec.ingressNamed = [];
    rec.egressEntries = [];
    rec.hasEgressNamed = false;
    if (rec.ingress) {
      for (const rule of spec.ingress ?? []) {
        const targets = this.resolve(rec, rule.from);
        const specs = portSpecs(rule.ports);
        cross(rec.ingressEntries, 'ingress', targets, specs);
        const named = specs.filter((s): s is NamedSpec => s.kind === 'named');
        if (named.length > 0) rec.ingressNamed.push({ targets, specs: named });
      }
    }
    if (rec.egress) {
      for (const rule of spec.egress ?? []) {
        const targets = this.resolve(rec, rule.to);
        const specs = portSpecs(rule.ports);
        cross(rec.egressEntries, 'egress', targets, specs);
        for (const s of specs) {
          if (s.kind !== 'named') continue;
          rec.hasEgressNamed = true;
          // Named egress ports are the destination's: per peer identity (all of them for "anyone").
          const groups = targets.length === 1 && targets[0].identity === IDENTITY_ANY ? [...this.groups.values()] : targets.flatMap((t) => (t.group ? [t.group] : []));
          for (const g of groups) {
            const ports = new Set<number>();
            for (const p of g.pods.values()) for (const n of resolveNamedPort(p.pod, s.name, s.proto)) ports.add(n);
            for (const n of ports) rec.egressEntries.push({ direction: 'egress', identity: g.id, proto: s.proto, portStart: n, portEnd: n });
          }
        }
      }
    }
  }

  private resolve(rec: PolicyRecord, peers: NetworkPolicyPeer[] | null | undefined): Target[] {
    if (!peers || peers.length === 0) return ANY_TARGETS;
    const seen = new Map<number, Target>();
    for (const peer of peers) {
      const key = peerKey(peer, rec.ns);
      if (key === undefined) continue;
      let e = this.peers.get(key);
      if (!e) {
        e = newPeerEntry(key, peer, rec.ns);
        for (const g of e.sel && e.sel.nss == null ? this.groupsIn(e.sel.policyNs) : this.groups.values()) updateMembership(e, g);
        setBlockCidrs(e, this.ipcache.prefixes);
        this.peers.set(key, e);
      }
      e.users.set(rec.key, (e.users.get(rec.key) ?? 0) + 1);
      rec.peerKeys.push(key);
      for (const cidr of e.cidrs) {
        const id = this.ipcache.identityOf(cidr);
        seen.set(id, { identity: id });
      }
      for (const g of e.groups) seen.set(g.id, { identity: g.id, group: g });
    }
    return [...seen.values()];
  }

  private groupsIn(ns: string): Iterable<Group> {
    return this.groupsByNs.get(ns) ?? [];
  }

  private releasePeers(rec: PolicyRecord): void {
    for (const key of rec.peerKeys) {
      const e = this.peers.get(key);
      if (!e) continue;
      const n = (e.users.get(rec.key) ?? 1) - 1;
      if (n > 0) e.users.set(rec.key, n);
      else e.users.delete(rec.key);
      if (e.users.size === 0) this.peers.delete(key);
    }
    rec.peerKeys = [];
  }

  private buildEndpoint(ep: EndpointRecord, memo: Map<string, EndpointPolicy>): EndpointPolicy {
    if (ep.policies.size === 0) return OPEN;
    let named = false;
    for (const rec of ep.policies) if (rec.ingress && rec.ingressNamed.length > 0) named = true;
    // Endpoints selected by the same policy revisions (and no ingress named
    // ports, which read the endpoint's own pod) have equal policies.
    const memoKey = named ? undefined : [...ep.policies].map((r) => r.rev).sort((a, b) => a - b).join(',');
    const hit = memoKey === undefined ? undefined : memo.get(memoKey);
    if (hit) return hit;
    let ingressEnforced = false;
    let egressEnforced = false;
    const all: PolicyEntry[] = [];
    for (const rec of ep.policies) {
      if (rec.ingress) {
        ingressEnforced = true;
        for (const e of rec.ingressEntries) all.push(e);
        for (const r of rec.ingressNamed) {
          const resolved: PortSpec[] = r.specs.flatMap((s) => resolveNamedPort(ep.rec.pod, s.name, s.proto).map((port) => ({ kind: 'numeric' as const, proto: s.proto, portStart: port, portEnd: port })));
          cross(all, 'ingress', r.targets, resolved);
        }
      }
      if (rec.egress) {
        egressEnforced = true;
        for (const e of rec.egressEntries) all.push(e);
      }
    }
    const out: EndpointPolicy = { ingressEnforced, egressEnforced, entries: Object.freeze(sortUnique(all)) };
    if (memoKey !== undefined) memo.set(memoKey, out);
    return out;
  }

}

function cross(out: PolicyEntry[], direction: 'ingress' | 'egress', targets: Target[], specs: PortSpec[]): void {
  for (const t of targets) {
    for (const s of specs) {
      if (s.kind === 'numeric') out.push({ direction, identity: t.identity, proto: s.proto, portStart: s.portStart, portEnd: s.portEnd });
    }
  }
}

function sortUnique(es: PolicyEntry[]): PolicyEntry[] {
  es.sort(compareEntries);
  const out: PolicyEntry[] = [];
  for (const e of es) if (out.length === 0 || compareEntries(out[out.length - 1], e) !== 0) out.push(e);
  return out;
}

function samePolicy(a: EndpointPolicy, b: EndpointPolicy): boolean {
  if (a === b) return true;
  if (a.ingressEnforced !== b.ingressEnforced || a.egressEnforced !== b.egressEnforced || a.entries.length !== b.entries.length) return false;
  for (let i = 0; i < a.entries.length; i++) if (compareEntries(a.entries[i], b.entries[i]) !== 0) return false;
  return true;
}

function sameVersion(a: { metadata: { resourceVersion?: string } }, b: { metadata: { resourceVersion?: string } }): boolean {
  return a.metadata.resourceVersion !== undefined && a.metadata.resourceVersion === b.metadata.resourceVersion;
}

function sameLabels(a: Labels | undefined, b: Labels | undefined): boolean {
  const ak = Object.keys(a ?? {});
  if (ak.length !== Object.keys(b ?? {}).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && a![k] === b![k]);
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
