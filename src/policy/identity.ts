// Security identities: a number per distinct (namespace, namespace labels,
// pod labels) set, which is all a NetworkPolicy peer selector can see of a
// pod, plus node-local CIDR identities for ipBlock prefixes.
//
// Numbering (u32 in the dataplane):
//   0            ANY / unknown: in a policy entry it means "any peer"
//   1            HOST (this node)
//   2            WORLD (anything outside the cluster not in a known CIDR)
//   3..7         reserved: unmanaged, health, init, remote-node, kube-apiserver
//   8..255       reserved for future fixed identities
//   256..65535   cluster identities (pods), allocated cluster-wide
//   16777216..   node-local CIDR identities (ipBlock CIDRs and except holes);
//                they never leave the node, so they need no coordination.
import type { Labels, Namespace, Pod } from './types.js';

export const IDENTITY_ANY = 0;
export const IDENTITY_HOST = 1;
export const IDENTITY_WORLD = 2;
export const IDENTITY_UNMANAGED = 3;
export const IDENTITY_HEALTH = 4;
export const IDENTITY_INIT = 5;
export const IDENTITY_REMOTE_NODE = 6;
export const IDENTITY_KUBE_APISERVER = 7;
export const RESERVED_IDENTITY_MAX = 255;
export const CLUSTER_IDENTITY_MIN = 256;
export const CLUSTER_IDENTITY_MAX = 65535;
export const CIDR_IDENTITY_MIN = 1 << 24;
export const CIDR_IDENTITY_MAX = (1 << 25) - 1;

/** The sorted label strings an identity stands for (also its human-readable form). */
export function identityLabels(namespace: string, nsLabels: Labels | undefined, podLabels: Labels | undefined): string[] {
  // The namespace name is part of the key even when the namespace carries no
  // kubernetes.io/metadata.name label: a podSelector-only peer means "pods in
  // the policy's namespace", so two namespaces with equal labels must never
  // share an identity. Prefixes keep the three kinds of label apart; label
  // keys and values cannot contain ';', so the joined key is unambiguous.
  const out = [`k8s:namespace=${namespace}`];
  for (const [k, v] of Object.entries(nsLabels ?? {})) out.push(`k8s:namespace.labels.${k}=${v}`);
  for (const [k, v] of Object.entries(podLabels ?? {})) out.push(`k8s:pod.${k}=${v}`);
  return out.sort();
}

/** Deterministic identity key of a label set. */
export function identityKey(namespace: string, nsLabels: Labels | undefined, podLabels: Labels | undefined): string {
  return identityLabels(namespace, nsLabels, podLabels).join(';');
}

/** Identity key of a pod, given the namespaces by name (a missing namespace has no labels). */
export function podIdentityKey(pod: Pod, namespaces: ReadonlyMap<string, Namespace>): string {
  const ns = pod.metadata.namespace ?? 'default';
  return identityKey(ns, namespaces.get(ns)?.metadata.labels, pod.metadata.labels);
}

export interface PersistedIdentity {
  id: number;
  key: string;
}

/**
 * Hands out identities for keys. Implementations: the in-memory one below
 * (tests, node-local CIDR identities) and, later, a cluster-wide one over the
 * API server. That one keeps one object per key, created with
 * create-if-absent; a loser of the race reads the winner's id, and a
 * candidate id already taken (a second object per id, also create-if-absent)
 * makes it retry with the next id. References are counted locally per agent;
 * garbage collection of unreferenced keys is the server's job. Everything
 * here is async so that implementation fits the same interface.
 */
export interface IdentityAllocator {
  /** The identity for `key`, allocating one if absent; takes one reference. */
  acquire(key: string): Promise<number>;
  /** Drops one reference; returns true when that freed the identity. */
  release(key: string): Promise<boolean>;
  /** The identity of `key` if allocated, without allocating. */
  lookup(key: string): number | undefined;
  /** Reverse lookup (flow logs, debugging). */
  keyOf(id: number): string | undefined;
  /** Every allocated identity, to persist across restarts. */
  list(): PersistedIdentity[];
}

export class IdentityExhaustedError extends Error {
  readonly code = 'EBBFLOW_IDENTITY_EXHAUSTED';
  constructor(min: number, max: number) {
    super(`no free identity in ${min}..${max}`);
  }
}

interface Slot {
  id: number;
  refs: number;
}

/** In-memory allocator over a numeric range, with reference counting. */
export class LocalIdentityAllocator implements IdentityAllocator {
  private readonly byKey = new Map<string, Slot>();
  private readonly byId = new Map<number, string>();
  private cursor: number;

  constructor(
    readonly min: number = CLUSTER_IDENTITY_MIN,
    readonly max: number = CLUSTER_IDENTITY_MAX,
    restored: Iterable<PersistedIdentity> = [],
  ) {
    this.cursor = min;
    for (const r of restored) this.restore(r);
  }

  /** Re-establishes a persisted identity with no references (see prune). */
  restore(r: PersistedIdentity): void {
    if (r.id < this.min || r.id > this.max) throw new RangeError(`identity ${r.id} outside ${this.min}..${this.max}`);
    const owner = this.byId.get(r.id);
    if (owner !== undefined && owner !== r.key) throw new Error(`identity ${r.id} restored for both ${owner} and ${r.key}`);
    if (this.byKey.has(r.key) && this.byKey.get(r.key)!.id !== r.id) throw new Error(`key restored twice with different ids: ${r.key}`);
    this.byKey.set(r.key, { id: r.id, refs: this.byKey.get(r.key)?.refs ?? 0 });
    this.byId.set(r.id, r.key);
    if (r.id >= this.cursor) this.cursor = r.id === this.max ? this.min : r.id + 1;
  }

  acquireSync(key: string): number {
    const slot = this.byKey.get(key);
    if (slot) {
      slot.refs++;
      return slot.id;
    }
    const id = this.nextFree();
    this.byKey.set(key, { id, refs: 1 });
    this.byId.set(id, key);
    return id;
  }

  releaseSync(key: string): boolean {
    const slot = this.byKey.get(key);
    if (!slot) return false;
    if (slot.refs > 1) {
      slot.refs--;
      return false;
    }
    this.byKey.delete(key);
    this.byId.delete(slot.id);
    return true;
  }

  /** Frees restored identities nobody re-acquired; returns the freed keys. */
  prune(): string[] {
    const freed: string[] = [];
    for (const [key, slot] of this.byKey) {
      if (slot.refs === 0) {
        this.byKey.delete(key);
        this.byId.delete(slot.id);
        freed.push(key);
      }
    }
    return freed;
  }

  async acquire(key: string): Promise<number> {
    return this.acquireSync(key);
  }

  async release(key: string): Promise<boolean> {
    return this.releaseSync(key);
  }

  lookup(key: string): number | undefined {
    return this.byKey.get(key)?.id;
  }

  keyOf(id: number): string | undefined {
    return this.byId.get(id);
  }

  refs(key: string): number {
    return this.byKey.get(key)?.refs ?? 0;
  }

  list(): PersistedIdentity[] {
    return [...this.byKey].map(([key, s]) => ({ id: s.id, key })).sort((a, b) => a.id - b.id);
  }

  // Round-robin from the last allocation rather than lowest-free: a freed id
  // is reused as late as possible, so a stale map entry or flow record for it
  // is unlikely to be confused with its next owner.
  private nextFree(): number {
    const span = this.max - this.min + 1;
    if (this.byId.size >= span) throw new IdentityExhaustedError(this.min, this.max);
    for (let i = 0; i < span; i++) {
      const id = this.cursor;
      this.cursor = id === this.max ? this.min : id + 1;
      if (!this.byId.has(id)) return id;
    }
    throw new IdentityExhaustedError(this.min, this.max);
  }
}

/** Allocator for node-local CIDR identities (keys are canonical CIDRs). */
export function newCidrIdentityAllocator(restored: Iterable<PersistedIdentity> = []): LocalIdentityAllocator {
  return new LocalIdentityAllocator(CIDR_IDENTITY_MIN, CIDR_IDENTITY_MAX, restored);
}

/** What the compiler asks for; resolving must not fail for a key it was handed. */
export interface IdentityResolver {
  /** Identity of a pod label-set key. */
  pod(key: string): number;
  /** Identity of a canonical IPv4 CIDR used by an ipBlock (or an except hole). */
  cidr(cidr: string): number;
}

/**
 * A resolver over two local allocators that holds one reference per key in
 * use: keys are acquired on first use, and `sweep()` releases every key not
 * asked for since the previous sweep, so a compile followed by a sweep leaves
 * exactly the current identities referenced.
 */
export class HeldIdentities implements IdentityResolver {
  private held = new Set<string>();
  private used = new Set<string>();

  constructor(
    readonly pods: LocalIdentityAllocator = new LocalIdentityAllocator(),
    readonly cidrs: LocalIdentityAllocator = newCidrIdentityAllocator(),
  ) {}

  pod(key: string): number {
    return this.take(this.pods, `p|${key}`, key);
  }

  cidr(cidr: string): number {
    return this.take(this.cidrs, `c|${cidr}`, cidr);
  }

  /** Releases identities unused since the last sweep; returns how many. */
  sweep(): number {
    let n = 0;
    for (const tagged of this.held) {
      if (this.used.has(tagged)) continue;
      const key = tagged.slice(2);
      (tagged.startsWith('p|') ? this.pods : this.cidrs).releaseSync(key);
      this.held.delete(tagged);
      n++;
    }
    this.used = new Set();
    return n;
  }

  private take(alloc: LocalIdentityAllocator, tagged: string, key: string): number {
    this.used.add(tagged);
    if (!this.held.has(tagged)) {
      this.held.add(tagged);
      return alloc.acquireSync(key);
    }
    return alloc.lookup(key)!;
  }
}
