// The incremental compiler's view of who a peer selects: identity groups kept
// up to date as pods come, go and change labels, and one entry per distinct
// peer (selector pair or ipBlock) holding the groups it matches, so a new
// or changed identity is tested against each peer once instead of every
// peer being re-evaluated against every identity. Mirrors peers.ts exactly.
import { canonicalCidr, containsIp, parseCidr, prefixWithin, type Prefix } from './cidr.js';
import { matchesSelector, selectorKey } from './selectors.js';
import type { IPBlock, LabelSelector, Labels, NetworkPolicyPeer, Pod } from './types.js';

/** A pod as the incremental compiler tracks it. */
export interface PodRecord {
  key: string;
  pod: Pod;
  namespace: string;
  group: Group;
  /** podIPv4s(pod), as written in the pod. */
  ips: string[];
  /** The valid ones, parsed. */
  addrs: number[];
  /** Everything about the pod the compiler reads; equal signatures compile alike. */
  sig: string;
}

/** Pods sharing one identity; `id` is 0 until the compile assigns it. */
export interface Group {
  key: string;
  namespace: string;
  nsLabels: Labels;
  podLabels: Labels;
  pods: Map<string, PodRecord>;
  id: number;
}

/** One distinct peer of some policy rule and the groups/CIDRs it selects. */
export interface PeerEntry {
  key: string;
  /** Policy keys using this entry, with how many times. */
  users: Map<string, number>;
  groups: Set<Group>;
  /** ipBlock peers: the ipcache CIDRs inside the block (identities looked up at compile). */
  cidrs: string[];
  sel?: { ps: LabelSelector | null | undefined; nss: LabelSelector | null | undefined; policyNs: string };
  block?: { c: Prefix; holes: Prefix[] };
}

/** The cache key of a peer (undefined: a peer that selects nothing). Same keys as peers.ts. */
export function peerKey(peer: NetworkPolicyPeer, policyNs: string): string | undefined {
  if (peer.ipBlock) return `ip|${peer.ipBlock.cidr}|${(peer.ipBlock.except ?? []).join(',')}`;
  if (peer.podSelector == null && peer.namespaceSelector == null) return undefined;
  return `sel|${peer.namespaceSelector == null ? policyNs : '*'}|${selectorKey(peer.podSelector)}|${selectorKey(peer.namespaceSelector)}`;
}

export function newPeerEntry(key: string, peer: NetworkPolicyPeer, policyNs: string): PeerEntry {
  const e: PeerEntry = { key, users: new Map(), groups: new Set(), cidrs: [] };
  if (peer.ipBlock) {
    const b = blockOf(peer.ipBlock);
    if (b) e.block = b;
  } else {
    e.sel = { ps: peer.podSelector, nss: peer.namespaceSelector, policyNs };
  }
  return e;
}

function blockOf(block: IPBlock): PeerEntry['block'] {
  const c = parseCidr(block.cidr);
  if (!c || canonicalCidr(block.cidr) === undefined) return undefined; // IPv6 or malformed: selects nothing
  return { c, holes: (block.except ?? []).map(parseCidr).filter((p): p is Prefix => p !== undefined) };
}

/** Whether the peer selects the group (as resolvePeer/ipBlockTargets decide). */
export function peerMatches(e: PeerEntry, g: Group): boolean {
  if (e.sel) {
    const { ps, nss, policyNs } = e.sel;
    if (nss == null ? g.namespace !== policyNs : !matchesSelector(nss, g.nsLabels)) return false;
    return ps == null || matchesSelector(ps, g.podLabels);
  }
  if (!e.block) return false;
  const { c, holes } = e.block;
  let any = false;
  for (const p of g.pods.values()) {
    for (const ip of p.addrs) {
      if (!containsIp(c, ip) || holes.some((h) => containsIp(h, ip))) return false;
      any = true;
    }
  }
  return any;
}

/** Recomputes the CIDR part of an ipBlock entry from the ipcache's non-pod prefixes. */
export function setBlockCidrs(e: PeerEntry, prefixes: readonly { cidr: string; prefix: Prefix }[]): boolean {
  if (!e.block) return false;
  const { c, holes } = e.block;
  const next = prefixes.filter(({ prefix }) => prefixWithin(prefix, c) && !holes.some((h) => prefixWithin(prefix, h))).map((p) => p.cidr);
  if (next.length === e.cidrs.length && next.every((x, i) => x === e.cidrs[i])) return false;
  e.cidrs = next;
  return true;
}

/** Sets whether `g` is in `e`; true when that changed it. */
export function updateMembership(e: PeerEntry, g: Group): boolean {
  const want = peerMatches(e, g);
  if (want === e.groups.has(g)) return false;
  if (want) e.groups.add(g);
  else e.groups.delete(g);
  return true;
}
