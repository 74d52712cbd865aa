// The service table: keeps the LB maps converged with Kubernetes-shaped
// Services and EndpointSlices, by full sync or incrementally per changed
// Service. Writes are ordered so a lookup never sees a slot pointing at a
// missing backend: backends, reverse NAT and Maglev tables first, then
// backend slots, then service headers; deletions in the reverse order.
import { IdAllocator } from './id-allocator.js';
import { ipv4ToNumber, numberToIpv4 } from './ip.js';
import {
  backendKey, serviceFrontends, serviceKey, SERVICE_NAME_LABEL,
  type BackendAddr, type EndpointSliceShape, type Frontend, type LbAlgorithm, type ServiceShape,
} from './lb-model.js';
import { nodePortFrontends, type NodePortScope } from './lb-nodeport.js';
import { maglevTable } from './maglev.js';
import type { AffinityMatch } from './maps/lb-affinity.js';
import { BE_F_TERMINATING, type Backend } from './maps/lb-backends.js';
import type { ReverseNat } from './maps/lb-revnat.js';
import {
  ServiceRowBatch, SVC_F_AFFINITY, SVC_F_LOCAL, SVC_F_MAGLEV, SVC_F_NODEPORT, type ServiceKey, type ServiceValue,
} from './maps/lb-services.js';
import type { TypedMap } from './typed-map.js';

export interface LbMaps {
  services: TypedMap<ServiceKey, ServiceValue>;
  backends: TypedMap<number, Backend>;
  revNat: TypedMap<number, ReverseNat>;
  maglev: TypedMap<number, Uint32Array>;
  affinityMatch: TypedMap<AffinityMatch, number>;
}

export interface ServiceTableOptions {
  defaultAlgorithm?: LbAlgorithm;
  /** Expand NodePort Services for this node (see lb-nodeport.ts); none without it. */
  nodePort?: NodePortScope;
}

export interface SyncStats {
  frontends: number;
  backends: number;
  writes: number;
  deletes: number;
}

/** What the table last wrote for one frontend. */
interface FrontendState {
  service: string;
  vip: number;
  port: number;
  proto: number;
  revNatId: number;
  flags: number;
  affinityTimeout: number;
  /** Backend ids in slot order (slot i+1 holds slots[i]). */
  slots: number[];
  /** Draining backend ids (kept alive, not in slots). */
  draining: number[];
  /** Key of the Maglev input, to rewrite the table only when it changes. */
  maglevSig: string;
}

interface Plan {
  backends: Map<number, Backend>;
  revNat: Map<number, ReverseNat>;
  maglev: Map<number, Uint32Array>;
  slots: ServiceRowBatch;
  headers: ServiceRowBatch;
  affinityAdd: AffinityMatch[];
  slotDeletes: ServiceRowBatch;
  headerDeletes: ServiceRowBatch;
  maglevDeletes: number[];
  revNatDeletes: number[];
  affinityDeletes: AffinityMatch[];
  backendDeletes: number[];
}

const emptyPlan = (): Plan => ({
  backends: new Map(), revNat: new Map(), maglev: new Map(),
  slots: new ServiceRowBatch(), headers: new ServiceRowBatch(), affinityAdd: [],
  slotDeletes: new ServiceRowBatch(), headerDeletes: new ServiceRowBatch(),
  maglevDeletes: [], revNatDeletes: [], affinityDeletes: [], backendDeletes: [],
});

export class ServiceTable {
  private readonly services = new Map<string, ServiceShape>();
  private readonly slices = new Map<string, EndpointSliceShape>();
  private readonly slicesOf = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();

  private readonly frontends = new Map<string, FrontendState>();
  private readonly byRevNat = new Map<number, FrontendState>();
  private readonly backendIds = new Map<string, number>();
  private readonly backendById = new Map<number, Backend>();
  private readonly backendRefs = new Map<number, number>();
  private readonly backendIdAlloc = new IdAllocator();
  private readonly revNatAlloc = new IdAllocator();
  private readonly defaultAlgorithm: LbAlgorithm;
  private nodePort: NodePortScope | undefined;

  private constructor(private readonly maps: LbMaps, opts: ServiceTableOptions) {
    this.defaultAlgorithm = opts.defaultAlgorithm ?? 'random';
    this.nodePort = opts.nodePort;
  }

  /** Opens the table over maps that may hold state from an earlier run,
   * keeping its ids so conntrack entries stay valid. */
  static restore(maps: LbMaps, opts: ServiceTableOptions = {}): ServiceTable {
    const t = new ServiceTable(maps, opts);
    for (const [id, be] of maps.backends.entries()) {
      t.backendIdAlloc.reserve(id);
      t.backendById.set(id, be);
      t.backendIds.set(beKey(be), id);
    }
    const slotRows: [ServiceKey, ServiceValue][] = [];
    for (const [k, v] of maps.services.entries()) {
      if (k.slot !== 0) {
        slotRows.push([k, v]);
        continue;
      }
      t.revNatAlloc.reserve(v.revNatId);
      const st: FrontendState = {
        service: '', vip: k.address, port: k.port, proto: k.proto, revNatId: v.revNatId, flags: v.flags,
        affinityTimeout: v.affinityTimeout, slots: new Array(v.count).fill(0), draining: [], maglevSig: '',
      };
      t.frontends.set(numericFrontendKey(k.address, k.port, k.proto), st);
      t.byRevNat.set(v.revNatId, st);
    }
    for (const [k, v] of slotRows) {
      const f = t.frontends.get(numericFrontendKey(k.address, k.port, k.proto));
      if (f && k.slot <= f.slots.length) f.slots[k.slot - 1] = v.backendId;
    }
    for (const f of t.frontends.values()) for (const id of f.slots) t.ref(id, 1);
    return t;
  }

  setService(svc: ServiceShape): void {
    const key = serviceKey(svc.metadata.namespace, svc.metadata.name);
    this.services.set(key, svc);
    this.dirty.add(key);
  }

  /** Changes the node IPs NodePorts are expanded to (undefined: no NodePort
   * frontends); every Service is recomputed by the next flush. */
  setNodePortScope(scope: NodePortScope | undefined): void {
    const same = scope && this.nodePort && scope.node === this.nodePort.node &&
      scope.nodeIPs.length === this.nodePort.nodeIPs.length && scope.nodeIPs.every((ip, i) => ip === this.nodePort!.nodeIPs[i]);
    if (same || (!scope && !this.nodePort)) return;
    this.nodePort = scope && { node: scope.node, nodeIPs: [...scope.nodeIPs] };
    for (const key of this.services.keys()) this.dirty.add(key);
  }

  deleteService(namespace: string, name: string): void {
    const key = serviceKey(namespace, name);
    this.services.delete(key);
    this.dirty.add(key);
  }

  setEndpointSlice(slice: EndpointSliceShape): void {
    const key = serviceKey(slice.metadata.namespace, slice.metadata.name);
    this.unlinkSlice(key);
    const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    this.slices.set(key, slice);
    if (owner) {
      const svc = serviceKey(slice.metadata.namespace, owner);
      if (!this.slicesOf.has(svc)) this.slicesOf.set(svc, new Set());
      this.slicesOf.get(svc)!.add(key);
      this.dirty.add(svc);
    }
  }

  deleteEndpointSlice(namespace: string, name: string): void {
    const key = serviceKey(namespace, name);
    this.unlinkSlice(key);
    this.slices.delete(key);
  }

  private unlinkSlice(key: string): void {
    const old = this.slices.get(key);
    const owner = old?.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!old || !owner) return;
    const svc = serviceKey(old.metadata.namespace, owner);
    this.slicesOf.get(svc)?.delete(key);
    this.dirty.add(svc);
  }

  /** Replaces all state with exactly these objects and converges the maps,
   * removing anything (also from an earlier run) they do not describe. */
  async fullSync(services: readonly ServiceShape[], slices: readonly EndpointSliceShape[]): Promise<SyncStats> {
    this.services.clear();
    this.slices.clear();
    this.slicesOf.clear();
    for (const s of services) this.setService(s);
    for (const s of slices) this.setEndpointSlice(s);
    const desired = new Map<string, Frontend>();
    const intern = new Map<string, BackendAddr>();
    for (const key of this.services.keys()) for (const f of this.desiredOf(key, intern)) desired.set(frontendKeyOf(f), f);
    this.dirty.clear();
    const stats = await this.converge(desired, new Set([...this.frontends.keys(), ...desired.keys()]));
    // Backends nobody references (left by a crashed run) go too.
    const orphans = [...this.backendById.keys()].filter((id) => !this.backendRefs.get(id));
    if (orphans.length) {
      await this.maps.backends.deleteMany(orphans);
      for (const id of orphans) this.forgetBackend(id);
      stats.deletes += orphans.length;
      stats.backends = this.backendById.size;
    }
    return stats;
  }

  /** Converges the maps for the Services changed since the last flush. */
  async flush(): Promise<SyncStats> {
    const changed = [...this.dirty];
    this.dirty.clear();
    const desired = new Map<string, Frontend>();
    for (const key of changed) for (const f of this.desiredOf(key)) desired.set(frontendKeyOf(f), f);
    const scope = new Set<string>();
    const changedSet = new Set(changed);
    for (const [k, f] of this.frontends) if (changedSet.has(f.service)) scope.add(k);
    for (const k of desired.keys()) scope.add(k);
    try {
      return await this.converge(desired, scope);
    } catch (err) {
      for (const key of changed) this.dirty.add(key);
      throw err;
    }
  }

  get pending(): number {
    return this.dirty.size;
  }

  stats(): { services: number; frontends: number; backends: number } {
    return { services: this.services.size, frontends: this.frontends.size, backends: this.backendById.size };
  }

  /** The Service ("ns/name", '' if restored and not yet synced) and active
   * backend count behind a service id (rev-NAT id), for flow enrichment. */
  serviceOf(revNatId: number): { service: string; backends: number } | undefined {
    const f = this.byRevNat.get(revNatId);
    return f && { service: f.service, backends: f.slots.length };
  }

  /** Backend id for an address, if the table knows it (for flows and tests). */
  backendIdOf(b: BackendAddr): number | undefined {
    return this.backendIds.get(backendKey(b));
  }

  private desiredOf(svcKey: string, intern?: Map<string, BackendAddr>): Frontend[] {
    const svc = this.services.get(svcKey);
    if (!svc) return [];
    const slices = [...(this.slicesOf.get(svcKey) ?? [])].map((k) => this.slices.get(k)!).filter(Boolean);
    const out = serviceFrontends(svc, slices, this.defaultAlgorithm, intern);
    if (this.nodePort) out.push(...nodePortFrontends(svc, slices, this.nodePort, this.defaultAlgorithm, intern));
    return out;
  }

  /** Plans and applies the change from the current to the desired state of
   * every frontend key in scope. */
  private async converge(desired: Map<string, Frontend>, scope: Set<string>): Promise<SyncStats> {
    const plan = emptyPlan();
    const next = new Map<string, FrontendState | undefined>();
    const refDelta = new Map<number, number>();
    const bump = (id: number, d: number) => refDelta.set(id, (refDelta.get(id) ?? 0) + d);
    const newBackends = new Map<number, Backend>();
    const allocated: number[] = [];

    const idFor = (b: BackendAddr): number => {
      const nk = b.key ?? backendKey(b);
      let id = this.backendIds.get(nk) ?? this.pendingIds.get(nk);
      if (id === undefined) {
        id = this.backendIdAlloc.allocate();
        allocated.push(id);
        this.pendingIds.set(nk, id);
        newBackends.set(id, { address: ipv4ToNumber(b.ip), port: b.port, proto: b.proto, flags: 0 });
      }
      return id;
    };

    this.pendingIds.clear();
    for (const key of scope) {
      const old = this.frontends.get(key);
      const want = desired.get(key);
      if (!want) {
        if (old) this.planDelete(plan, old, bump);
        next.set(key, undefined);
        continue;
      }
      const st = this.planUpsert(plan, old, want, idFor, bump);
      next.set(key, st);
    }

    // Refcounts and draining flags decide which backends to write or delete.
    const refsAfter = new Map(this.backendRefs);
    for (const [id, d] of refDelta) refsAfter.set(id, (refsAfter.get(id) ?? 0) + d);
    const activeSomewhere = new Set<number>();
    for (const st of next.values()) if (st) st.slots.forEach((id) => activeSomewhere.add(id));
    for (const [key, st] of this.frontends) if (!next.has(key)) st.slots.forEach((id) => activeSomewhere.add(id));
    for (const [id, be] of newBackends) {
      if ((refsAfter.get(id) ?? 0) > 0) plan.backends.set(id, { ...be, flags: activeSomewhere.has(id) ? 0 : BE_F_TERMINATING });
    }
    for (const id of refDelta.keys()) {
      if (newBackends.has(id)) continue;
      const be = this.backendById.get(id);
      if (!be) continue;
      if ((refsAfter.get(id) ?? 0) <= 0) plan.backendDeletes.push(id);
      else {
        const flags = activeSomewhere.has(id) ? 0 : BE_F_TERMINATING;
        if (flags !== be.flags) plan.backends.set(id, { ...be, flags });
      }
    }

    let writes = 0;
    let deletes = 0;
    try {
      const m = this.maps;
      writes += await setAll(m.backends, [...plan.backends]);
      writes += await setAll(m.revNat, [...plan.revNat]);
      writes += await setAll(m.maglev, [...plan.maglev]);
      writes += await setAll(m.affinityMatch, plan.affinityAdd.map((k) => [k, 1] as const));
      writes += await plan.slots.write(m.services.handle);
      writes += await plan.headers.write(m.services.handle);
      deletes += await plan.slotDeletes.delete(m.services.handle);
      deletes += await plan.headerDeletes.delete(m.services.handle);
      deletes += await deleteAll(m.maglev, plan.maglevDeletes);
      deletes += await deleteAll(m.affinityMatch, plan.affinityDeletes);
      deletes += await deleteAll(m.revNat, plan.revNatDeletes);
      deletes += await deleteAll(m.backends, plan.backendDeletes);
    } catch (err) {
      // Nothing is recorded as written: a retry re-plans from the old mirror.
      for (const id of allocated) this.backendIdAlloc.release(id);
      for (const [, st] of next) if (st && !this.frontends.has(frontendKeyOfState(st))) this.revNatAlloc.release(st.revNatId);
      throw err;
    }

    // Commit the mirror.
    for (const [key, st] of next) {
      const old = this.frontends.get(key);
      if (st) {
        this.frontends.set(key, st);
        this.byRevNat.set(st.revNatId, st);
      } else {
        this.frontends.delete(key);
        if (old) {
          this.byRevNat.delete(old.revNatId);
          this.revNatAlloc.release(old.revNatId);
        }
      }
    }
    for (const [id, be] of plan.backends) {
      this.backendById.set(id, be);
      this.backendIds.set(beKey(be), id);
    }
    for (const [id, d] of refDelta) this.ref(id, d);
    for (const id of plan.backendDeletes) this.forgetBackend(id);
    for (const id of allocated) if (!plan.backends.has(id)) this.backendIdAlloc.release(id);
    this.pendingIds.clear();
    return { frontends: this.frontends.size, backends: this.backendById.size, writes, deletes };
  }

  private readonly pendingIds = new Map<string, number>();

  private planDelete(plan: Plan, old: FrontendState, bump: (id: number, d: number) => void): void {
    const { vip: address, port, proto } = old;
    for (let i = 0; i < old.slots.length; i++) plan.slotDeletes.addKey(address, port, proto, i + 1);
    plan.headerDeletes.addKey(address, port, proto, 0);
    plan.revNatDeletes.push(old.revNatId);
    if (old.flags & SVC_F_MAGLEV) plan.maglevDeletes.push(old.revNatId);
    if (old.flags & SVC_F_AFFINITY) {
      for (const id of old.slots) plan.affinityDeletes.push({ backendId: id, revNatId: old.revNatId });
    }
    for (const id of old.slots) bump(id, -1);
    for (const id of old.draining) bump(id, -1);
  }

  private planUpsert(
    plan: Plan,
    old: FrontendState | undefined,
    want: Frontend,
    idFor: (b: BackendAddr) => number,
    bump: (id: number, d: number) => void,
  ): FrontendState {
    const vip = ipv4ToNumber(want.vip);
    const revNatId = old?.revNatId ?? this.revNatAlloc.allocate();
    const slots = want.active.slice(0, 0xffff).map(idFor);
    const draining = want.draining.map(idFor);
    let flags = 0;
    if (want.affinityTimeout > 0) flags |= SVC_F_AFFINITY;
    if (want.algorithm === 'maglev') flags |= SVC_F_MAGLEV;
    if (want.nodePort) flags |= SVC_F_NODEPORT;
    if (want.nodePort === 'Local') flags |= SVC_F_LOCAL;
    const st: FrontendState = {
      service: want.service, vip, port: want.port, proto: want.proto, revNatId, flags,
      affinityTimeout: want.affinityTimeout, slots, draining, maglevSig: '',
    };
    const { port, proto } = want;
    if (!old) plan.revNat.set(revNatId, { address: vip, port });
    const oldSlots = old?.slots ?? [];
    for (let i = 0; i < slots.length; i++) {
      if (oldSlots[i] !== slots[i]) {
        plan.slots.add(vip, port, proto, i + 1, slots[i], revNatId, 0, 0, 0);
      }
    }
    for (let i = slots.length; i < oldSlots.length; i++) plan.slotDeletes.addKey(vip, port, proto, i + 1);
    if (!old || old.flags !== flags || old.affinityTimeout !== st.affinityTimeout || oldSlots.length !== slots.length) {
      plan.headers.add(vip, port, proto, 0, 0, revNatId, st.affinityTimeout, slots.length, flags);
    }
    if (flags & SVC_F_MAGLEV) {
      st.maglevSig = slots.join(',');
      if (!old || old.maglevSig !== st.maglevSig || !(old.flags & SVC_F_MAGLEV)) {
        plan.maglev.set(revNatId, maglevTable(slots.map((id, i) => ({ id, name: backendKey(want.active[i]) }))));
      }
    } else if (old && old.flags & SVC_F_MAGLEV) plan.maglevDeletes.push(revNatId);
    const oldAff = old && old.flags & SVC_F_AFFINITY ? new Set(old.slots) : new Set<number>();
    const newAff = flags & SVC_F_AFFINITY ? new Set(slots) : new Set<number>();
    for (const id of newAff) if (!oldAff.has(id)) plan.affinityAdd.push({ backendId: id, revNatId });
    for (const id of oldAff) if (!newAff.has(id)) plan.affinityDeletes.push({ backendId: id, revNatId });
    if (old) {
      for (const id of old.slots) bump(id, -1);
      for (const id of old.draining) bump(id, -1);
    }
    for (const id of slots) bump(id, 1);
    for (const id of draining) bump(id, 1);
    return st;
  }

  private ref(id: number, d: number): void {
    if (!id) return;
    const n = (this.backendRefs.get(id) ?? 0) + d;
    if (n > 0) this.backendRefs.set(id, n);
    else this.backendRefs.delete(id);
  }

  private forgetBackend(id: number): void {
    const be = this.backendById.get(id);
    if (be) this.backendIds.delete(beKey(be));
    this.backendById.delete(id);
    this.backendRefs.delete(id);
    this.backendIdAlloc.release(id);
  }
}

const numericFrontendKey = (vip: number, port: number, proto: number): string => `${vip}:${port}/${proto}`;
/** backendKey of a backend as stored in the map. */
const beKey = (be: Backend): string => backendKey({ ip: numberToIpv4(be.address), port: be.port, proto: be.proto });
const frontendKeyOf = (f: Frontend): string => numericFrontendKey(ipv4ToNumber(f.vip), f.port, f.proto);
const frontendKeyOfState = (s: FrontendState): string => numericFrontendKey(s.vip, s.port, s.proto);

async function setAll<K, V>(map: TypedMap<K, V>, rows: readonly (readonly [K, V])[]): Promise<number> {
  if (rows.length) await map.setMany(rows);
  return rows.length;
}

async function deleteAll<K, V>(map: TypedMap<K, V>, keys: readonly K[]): Promise<number> {
  if (keys.length) await map.deleteMany(keys);
  return keys.length;
}
