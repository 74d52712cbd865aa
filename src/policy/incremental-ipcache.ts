// The incremental compiler's ipcache: pod /32s kept per address as pods
// come and go, and the ipBlock CIDRs of all policies (reference-counted),
// giving the same entries as buildUniverse and reporting what changed.
import { canonicalCidr, parseCidr, parseIPv4, type Prefix } from './cidr.js';
import { IDENTITY_WORLD, type IdentityResolver } from './identity.js';
import type { IpcacheEntry } from './ipcache.js';
import type { Group, PodRecord } from './peer-index.js';
import type { NetworkPolicy, NetworkPolicyPeer } from './types.js';

export interface IpcacheRefresh {
  /** CIDR -> new identity (undefined = removed), for the map writer. */
  changes: Map<string, number | undefined>;
  /** The non-pod prefixes changed: ipBlock peers must be re-resolved. */
  prefixesChanged: boolean;
  /** A CIDR identity got a new number: every ipBlock peer's entries are stale. */
  renumbered: boolean;
}

export class IncrementalIpcache {
  /** Canonical CIDR -> identity: everything the LPM map holds. */
  readonly map = new Map<string, number>();
  /** ipBlock CIDR -> CIDR identity (not 0.0.0.0/0, not CIDRs a pod /32 took). */
  cidrIdentities = new Map<string, number>();
  /** The non-pod prefixes, sorted, 0.0.0.0/0 included. */
  prefixes: { cidr: string; prefix: Prefix }[] = [];
  private readonly owners = new Map<string, Set<PodRecord>>();
  private readonly shared = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly cidrRefs = new Map<string, number>();
  private cidrsChanged = true;
  private list: IpcacheEntry[] = [];
  private listStale = true;

  /** A pod claims (or gives up) an address. */
  own(ip: string, rec: PodRecord, own: boolean): void {
    let s = this.owners.get(ip);
    if (own) {
      if (!s) this.owners.set(ip, (s = new Set()));
      s.add(rec);
    } else if (s) {
      s.delete(rec);
      if (s.size === 0) this.owners.delete(ip);
    }
    if (s && s.size > 1) this.shared.add(ip);
    else this.shared.delete(ip);
    this.dirty.add(ip);
  }

  /** Group membership changed somewhere: who owns an address several pods
   * claim depends on every group's smallest pod key, so re-decide those few. */
  groupsChanged(): void {
    for (const ip of this.shared) this.dirty.add(ip);
  }

  /** The group's addresses must be rewritten (its identity was renumbered). */
  renumbered(g: Group): void {
    for (const p of g.pods.values()) for (const ip of p.ips) this.dirty.add(ip);
  }

  /** A policy was replaced: its ipBlock CIDRs are counted. */
  trackPolicy(old: NetworkPolicy | undefined, next: NetworkPolicy | undefined): void {
    for (const c of old ? policyCidrs(old) : []) {
      const n = (this.cidrRefs.get(c) ?? 0) - 1;
      if (n <= 0) {
        this.cidrRefs.delete(c);
        this.cidrsChanged = true;
      } else this.cidrRefs.set(c, n);
    }
    for (const c of next ? policyCidrs(next) : []) {
      const n = this.cidrRefs.get(c) ?? 0;
      if (n === 0) this.cidrsChanged = true;
      this.cidrRefs.set(c, n + 1);
    }
  }

  /** Identity of a prefix from `prefixes`. */
  identityOf(cidr: string): number {
    return cidr === '0.0.0.0/0' ? IDENTITY_WORLD : this.cidrIdentities.get(cidr)!;
  }

  // Pod /32s first (a duplicated address goes to the group buildUniverse
  // reaches first), then every ipBlock CIDR not already a pod /32, then
  // 0.0.0.0/0 -> WORLD.
  refresh(ids: IdentityResolver): IpcacheRefresh {
    const changes = new Map<string, number | undefined>();
    const set = (cidr: string, id: number | undefined) => {
      if (this.map.get(cidr) === id) return;
      if (id === undefined) this.map.delete(cidr);
      else this.map.set(cidr, id);
      changes.set(cidr, id);
    };
    for (const ip of this.dirty) {
      if (parseIPv4(ip) === undefined) continue;
      const cidr = `${ip}/32`;
      const owners = this.owners.get(ip);
      set(cidr, owners ? ownerGroup(owners).id : undefined);
      // A pod /32 equal to an ipBlock CIDR displaces that CIDR's identity (and gives it back).
      if (this.cidrRefs.has(cidr)) this.cidrsChanged = true;
    }
    this.dirty.clear();
    // CIDR identities are asked for on every compile, like pod identities
    // (resolvers holding references until a sweep must see them in use).
    let renumbered = false;
    if (!this.cidrsChanged) for (const [cidr, id] of this.cidrIdentities) if (ids.cidr(cidr) !== id) renumbered = true;
    const prefixesChanged = this.cidrsChanged || renumbered;
    if (prefixesChanged) {
      const cidrs = [...this.cidrRefs.keys(), '0.0.0.0/0'].filter((c) => !this.podTaken(c)).sort();
      const next = new Map<string, number>();
      const prefixes: { cidr: string; prefix: Prefix }[] = [];
      for (const cidr of cidrs) {
        const identity = cidr === '0.0.0.0/0' ? IDENTITY_WORLD : ids.cidr(cidr);
        if (identity !== IDENTITY_WORLD) next.set(cidr, identity);
        prefixes.push({ cidr, prefix: parseCidr(cidr)! });
        set(cidr, identity);
      }
      for (const cidr of this.cidrIdentities.keys()) if (!next.has(cidr) && !this.podTaken(cidr)) set(cidr, undefined);
      this.cidrIdentities = next;
      this.prefixes = prefixes;
      this.cidrsChanged = false;
    }
    if (changes.size > 0) this.listStale = true;
    return { changes, prefixesChanged, renumbered };
  }

  entries(): IpcacheEntry[] {
    if (this.listStale) {
      this.list = [...this.map].map(([cidr, identity]) => ({ cidr, identity }));
      this.listStale = false;
    }
    return this.list;
  }

  private podTaken(cidr: string): boolean {
    return cidr.endsWith('/32') && this.owners.has(cidr.slice(0, -3));
  }
}

// buildUniverse walks pods sorted by key, grouping them, and the first group
// to reach an address keeps it: the group whose smallest pod key is least.
function ownerGroup(owners: Set<PodRecord>): Group {
  if (owners.size === 1) return owners.values().next().value!.group;
  let best: Group | undefined;
  let bestKey = '';
  for (const o of owners) {
    let min: string | undefined;
    for (const k of o.group.pods.keys()) if (min === undefined || k < min) min = k;
    if (best === undefined || min! < bestKey) {
      best = o.group;
      bestKey = min!;
    }
  }
  return best!;
}

/** Canonical ipBlock CIDRs and except holes of a policy. */
export function policyCidrs(pol: NetworkPolicy): string[] {
  const out = new Set<string>();
  const add = (p: NetworkPolicyPeer) => {
    if (!p.ipBlock) return;
    for (const c of [p.ipBlock.cidr, ...(p.ipBlock.except ?? [])]) {
      const canon = canonicalCidr(c);
      if (canon) out.add(canon);
    }
  };
  for (const r of pol.spec.ingress ?? []) for (const p of r.from ?? []) add(p);
  for (const r of pol.spec.egress ?? []) for (const p of r.to ?? []) add(p);
  return [...out];
}
