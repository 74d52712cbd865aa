// Who a NetworkPolicy peer list selects, as identities. Builds the
// "universe" the compiler works on: pods grouped by identity, and the set of
// prefixes that will be in the ipcache, which decides which CIDR identities
// an ipBlock covers.
import { canonicalCidr, containsIp, parseCidr, parseIPv4, prefixWithin, type Prefix } from './cidr.js';
import { IDENTITY_ANY, IDENTITY_WORLD, podIdentityKey, type IdentityResolver } from './identity.js';
import type { IpcacheEntry } from './ipcache.js';
import { matchesSelector, selectorKey } from './selectors.js';
import { objectKey, podIPv4s, type ClusterState, type IPBlock, type Labels, type Namespace, type NetworkPolicyPeer, type Pod } from './types.js';

/** Pods sharing one identity. */
export interface IdentityGroup {
  id: number;
  key: string;
  namespace: string;
  nsLabels: Labels;
  podLabels: Labels;
  pods: Pod[];
  /** Parsed IPv4 addresses of all its pods. */
  ips: number[];
}

/** A selected peer: identity 0 means any peer; `group` is set for pod identities. */
export interface PeerTarget {
  identity: number;
  group?: IdentityGroup;
}

export interface Universe {
  namespaces: Map<string, Namespace>;
  groups: IdentityGroup[];
  groupsByNs: Map<string, IdentityGroup[]>;
  podsByNs: Map<string, Pod[]>;
  podIdentity: Map<string, number>;
  /** ipcache prefixes that are not pod IPs, with their identities (includes 0.0.0.0/0 → WORLD). */
  cidrPrefixes: { prefix: Prefix; identity: number }[];
  ipcache: IpcacheEntry[];
  cidrIdentities: Map<string, number>;
  peerCache: Map<string, PeerTarget[]>;
}

const ANY: PeerTarget[] = [{ identity: IDENTITY_ANY }];

/** Pods that are policy endpoints: host-network pods are outside NetworkPolicy. */
export function policyPods(pods: Pod[]): Pod[] {
  return pods.filter((p) => !p.spec.hostNetwork);
}

export function buildUniverse(state: ClusterState, ids: IdentityResolver): Universe {
  const namespaces = new Map(state.namespaces.map((n) => [n.metadata.name, n]));
  const byKey = new Map<string, IdentityGroup>();
  const podsByNs = new Map<string, Pod[]>();
  const podIdentity = new Map<string, number>();
  const pods = policyPods(state.pods).sort((a, b) => cmp(objectKey(a.metadata), objectKey(b.metadata)));
  for (const pod of pods) {
    const ns = pod.metadata.namespace ?? 'default';
    const key = podIdentityKey(pod, namespaces);
    let g = byKey.get(key);
    if (!g) {
      g = { id: ids.pod(key), key, namespace: ns, nsLabels: namespaces.get(ns)?.metadata.labels ?? {}, podLabels: pod.metadata.labels ?? {}, pods: [], ips: [] };
      byKey.set(key, g);
    }
    g.pods.push(pod);
    for (const ip of podIPv4s(pod)) {
      const n = parseIPv4(ip);
      if (n !== undefined) g.ips.push(n);
    }
    podIdentity.set(objectKey(pod.metadata), g.id);
    push(podsByNs, ns, pod);
  }
  const groups = [...byKey.values()];
  const groupsByNs = new Map<string, IdentityGroup[]>();
  for (const g of groups) push(groupsByNs, g.namespace, g);

  // ipcache: pod /32s first; when an ipBlock prefix is exactly a pod's /32
  // the pod entry wins, and the ipBlock reaches that pod through its pod
  // identity instead (see ipBlockTargets).
  const ipcache: IpcacheEntry[] = [];
  const taken = new Set<string>();
  for (const g of groups) {
    for (const pod of g.pods) {
      for (const ip of podIPv4s(pod)) {
        const cidr = `${ip}/32`;
        if (parseIPv4(ip) === undefined || taken.has(cidr)) continue;
        taken.add(cidr);
        ipcache.push({ cidr, identity: g.id });
      }
    }
  }
  const cidrs = new Set<string>();
  for (const pol of state.policies) {
    for (const r of pol.spec.ingress ?? []) for (const p of r.from ?? []) addBlock(cidrs, p.ipBlock);
    for (const r of pol.spec.egress ?? []) for (const p of r.to ?? []) addBlock(cidrs, p.ipBlock);
  }
  cidrs.add('0.0.0.0/0');
  const cidrIdentities = new Map<string, number>();
  const cidrPrefixes: Universe['cidrPrefixes'] = [];
  for (const cidr of [...cidrs].sort()) {
    if (taken.has(cidr)) continue;
    const identity = cidr === '0.0.0.0/0' ? IDENTITY_WORLD : ids.cidr(cidr);
    if (identity !== IDENTITY_WORLD) cidrIdentities.set(cidr, identity);
    cidrPrefixes.push({ prefix: parseCidr(cidr)!, identity });
    ipcache.push({ cidr, identity });
  }
  return { namespaces, groups, groupsByNs, podsByNs, podIdentity, cidrPrefixes, ipcache, cidrIdentities, peerCache: new Map() };
}

/** The identities a `from`/`to` list selects (absent or empty = any peer). */
export function resolvePeers(peers: NetworkPolicyPeer[] | null | undefined, policyNs: string, u: Universe): PeerTarget[] {
  if (!peers || peers.length === 0) return ANY;
  const seen = new Map<number, PeerTarget>();
  for (const peer of peers) {
    for (const t of resolvePeer(peer, policyNs, u)) seen.set(t.identity, t);
  }
  return [...seen.values()];
}

function resolvePeer(peer: NetworkPolicyPeer, policyNs: string, u: Universe): PeerTarget[] {
  if (peer.ipBlock) return cached(u, `ip|${peer.ipBlock.cidr}|${(peer.ipBlock.except ?? []).join(',')}`, () => ipBlockTargets(peer.ipBlock!, u));
  const ps = peer.podSelector;
  const nss = peer.namespaceSelector;
  // A peer with neither selector is invalid (validation requires one); it
  // selects nothing rather than everything.
  if (ps == null && nss == null) return [];
  const key = `sel|${nss == null ? policyNs : '*'}|${selectorKey(ps)}|${selectorKey(nss)}`;
  return cached(u, key, () => {
    // Without a namespaceSelector the peer is confined to the policy's own
    // namespace; with one, to the namespaces it matches ({} = all).
    const nsNames = nss == null ? [policyNs] : [...u.groupsByNs.keys()].filter((n) => matchesSelector(nss, u.namespaces.get(n)?.metadata.labels));
    const out: PeerTarget[] = [];
    for (const n of nsNames) {
      for (const g of u.groupsByNs.get(n) ?? []) {
        if (ps == null || matchesSelector(ps, g.podLabels)) out.push({ identity: g.id, group: g });
      }
    }
    return out;
  });
}

// An ipBlock allows an address when it is inside `cidr` and outside every
// `except`. Every non-pod prefix in the ipcache is one of the ipBlock
// prefixes (or 0.0.0.0/0), and prefixes containing one address are nested,
// so the longest match q for an address a satisfies: a ∈ C ⇔ q ⊆ C for every
// ipBlock prefix C. Hence allowing exactly the CIDR identities whose prefix
// lies inside the cidr and inside no except is exact for non-pod addresses.
// Pod addresses resolve to pod identities; a pod identity is allowed when
// every address of every pod holding it is in the block. That is exact when
// the identity's pods agree (always, in practice: ipBlock is meant for
// cluster-external addresses) and fails closed when they do not.
function ipBlockTargets(block: IPBlock, u: Universe): PeerTarget[] {
  const c = parseCidr(block.cidr);
  if (!c || canonicalCidr(block.cidr) === undefined) return []; // IPv6 or malformed: not modelled
  const holes = (block.except ?? []).map(parseCidr).filter((p): p is Prefix => p !== undefined);
  const out: PeerTarget[] = [];
  for (const { prefix, identity } of u.cidrPrefixes) {
    if (prefixWithin(prefix, c) && !holes.some((h) => prefixWithin(prefix, h))) out.push({ identity });
  }
  for (const g of u.groups) {
    const ips = g.ips;
    if (ips.length > 0 && ips.every((ip) => containsIp(c, ip) && !holes.some((h) => containsIp(h, ip)))) {
      out.push({ identity: g.id, group: g });
    }
  }
  return out;
}

function addBlock(set: Set<string>, block: IPBlock | null | undefined): void {
  if (!block) return;
  for (const c of [block.cidr, ...(block.except ?? [])]) {
    const canon = canonicalCidr(c);
    if (canon) set.add(canon);
  }
}

function cached(u: Universe, key: string, f: () => PeerTarget[]): PeerTarget[] {
  let v = u.peerCache.get(key);
  if (!v) u.peerCache.set(key, (v = f()));
  return v;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
