// Local endpoints, their compiled policy entries and the ipcache, kept in
// the BPF maps. Policy changes of an endpoint are written as: new allow
// entries, then the endpoint record with a bumped policy revision (which
// makes conntrack re-check established connections), then removal of
// entries that no longer exist.
import { ipv4ToNumber } from './ip.js';
import { EP_F_EGRESS_ENFORCED, EP_F_INGRESS_ENFORCED, type EndpointInfo } from './maps/endpoints.js';
import type { IpcacheKey } from './maps/ipcache.js';
import type { PolicyKey, PolicyValue } from './maps/policy.js';
import { POLICY_ANY_PORT_PREFIX, POLICY_ANY_PROTO_PREFIX, POLICY_DIR_EGRESS, POLICY_DIR_INGRESS } from './maps/policy.js';
import type { TypedMap } from './typed-map.js';

export interface PolicyMaps {
  endpoints: TypedMap<number, EndpointInfo>;
  ipcache: TypedMap<IpcacheKey, number>;
  policy: TypedMap<PolicyKey, PolicyValue>;
}

/** One allow rule of an endpoint: a port block is `port` with its low
 * (16 - portPrefixBits) bits free; proto 0 = any protocol and port. */
export interface AllowRule {
  direction: 'ingress' | 'egress';
  /** Remote identity; 0 = any peer. */
  identity: number;
  proto: number;
  /** 0 with portPrefixBits 0 = any port. */
  port: number;
  portPrefixBits: number;
}

export interface EndpointSpec {
  ip: string;
  ifindex: number;
  endpointId: number;
  identity: number;
  ingressEnforced: boolean;
  egressEnforced: boolean;
  rules: AllowRule[];
}

interface EndpointState {
  info: EndpointInfo;
  keys: Map<string, PolicyKey>;
}

export function ruleKey(endpointId: number, r: AllowRule): PolicyKey {
  const direction = r.direction === 'ingress' ? POLICY_DIR_INGRESS : POLICY_DIR_EGRESS;
  if (r.proto === 0) {
    return { prefixLen: POLICY_ANY_PROTO_PREFIX, endpointId, identity: r.identity, direction, proto: 0, port: 0 };
  }
  const bits = Math.max(0, Math.min(16, r.portPrefixBits));
  const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  return { prefixLen: POLICY_ANY_PORT_PREFIX + bits, endpointId, identity: r.identity, direction, proto: r.proto, port: r.port & mask };
}

const keyString = (k: PolicyKey) => `${k.prefixLen}/${k.endpointId}/${k.identity}/${k.direction}/${k.proto}/${k.port}`;

export class EndpointTable {
  private readonly byIp = new Map<number, EndpointState>();

  private constructor(private readonly maps: PolicyMaps) {}

  /** Opens the table over maps that may hold an earlier run's state. */
  static restore(maps: PolicyMaps): EndpointTable {
    const t = new EndpointTable(maps);
    const keysByEp = new Map<number, Map<string, PolicyKey>>();
    for (const [k] of maps.policy.entries()) {
      if (!keysByEp.has(k.endpointId)) keysByEp.set(k.endpointId, new Map());
      keysByEp.get(k.endpointId)!.set(keyString(k), k);
    }
    for (const [ip, info] of maps.endpoints.entries()) {
      t.byIp.set(ip, { info, keys: keysByEp.get(info.endpointId) ?? new Map() });
    }
    return t;
  }

  /** Registers or updates an endpoint and converges its policy entries. */
  async setEndpoint(spec: EndpointSpec): Promise<{ changed: boolean; rev: number }> {
    const ip = ipv4ToNumber(spec.ip);
    const old = this.byIp.get(ip);
    const want = new Map<string, PolicyKey>();
    for (const r of spec.rules) {
      const k = ruleKey(spec.endpointId, r);
      want.set(keyString(k), k);
    }
    const flags = (spec.ingressEnforced ? EP_F_INGRESS_ENFORCED : 0) | (spec.egressEnforced ? EP_F_EGRESS_ENFORCED : 0);
    const add = [...want].filter(([s]) => !old?.keys.has(s)).map(([, k]) => k);
    const del = old ? [...old.keys].filter(([s]) => !want.has(s)).map(([, k]) => k) : [];
    const policyChanged = !old || add.length > 0 || del.length > 0 || old.info.flags !== flags;
    const info: EndpointInfo = {
      ifindex: spec.ifindex,
      endpointId: spec.endpointId,
      identity: spec.identity,
      policyRev: policyChanged ? ((old?.info.policyRev ?? 0) + 1) >>> 0 : old!.info.policyRev,
      flags,
    };
    const infoChanged = !old || policyChanged || old.info.ifindex !== info.ifindex ||
      old.info.endpointId !== info.endpointId || old.info.identity !== info.identity;
    await this.maps.policy.setMany(add.map((k) => [k, { allow: true, rule: 0 }] as const));
    if (infoChanged) this.maps.endpoints.set(ip, info);
    await this.maps.policy.deleteMany(del);
    this.byIp.set(ip, { info, keys: want });
    return { changed: infoChanged, rev: info.policyRev };
  }

  async removeEndpoint(ipStr: string): Promise<boolean> {
    const ip = ipv4ToNumber(ipStr);
    const st = this.byIp.get(ip);
    if (!st) return false;
    this.maps.endpoints.delete(ip);
    await this.maps.policy.deleteMany([...st.keys.values()]);
    this.byIp.delete(ip);
    return true;
  }

  endpoint(ipStr: string): EndpointInfo | undefined {
    return this.byIp.get(ipv4ToNumber(ipStr))?.info;
  }

  /** Converges the ipcache to exactly these CIDR -> identity entries. */
  async syncIpcache(entries: ReadonlyMap<string, number>): Promise<{ upserts: number; deletes: number }> {
    const want = new Map<string, [IpcacheKey, number]>();
    for (const [cidr, id] of entries) {
      const k = ipcacheKey(cidr);
      want.set(`${k.addr}/${k.prefixLen}`, [k, id]);
    }
    const have = new Map(this.maps.ipcache.entries().map(([k, v]) => [`${k.addr}/${k.prefixLen}`, [k, v] as const]));
    const upserts = [...want].filter(([s, [, id]]) => have.get(s)?.[1] !== id).map(([, e]) => e);
    const deletes = [...have].filter(([s]) => !want.has(s)).map(([, [k]]) => k);
    await this.maps.ipcache.setMany(upserts);
    await this.maps.ipcache.deleteMany(deletes);
    return { upserts: upserts.length, deletes: deletes.length };
  }

  /** Writes ipcache changes (undefined = delete the prefix), writes before deletes
   * so an address falls back to a shorter prefix that is already present. */
  async patchIpcache(changes: ReadonlyMap<string, number | undefined>): Promise<{ upserts: number; deletes: number }> {
    const upserts: [IpcacheKey, number][] = [];
    const deletes: IpcacheKey[] = [];
    for (const [cidr, id] of changes) {
      if (id === undefined) deletes.push(ipcacheKey(cidr));
      else upserts.push([ipcacheKey(cidr), id]);
    }
    if (upserts.length > 0) await this.maps.ipcache.setMany(upserts);
    if (deletes.length > 0) await this.maps.ipcache.deleteMany(deletes);
    return { upserts: upserts.length, deletes: deletes.length };
  }
}

function ipcacheKey(cidr: string): IpcacheKey {
  const [addr, len] = cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
  const prefixLen = Number(len);
  const a = ipv4ToNumber(addr);
  const addrMasked = prefixLen === 0 ? 0 : (a & ((0xffffffff << (32 - prefixLen)) >>> 0)) >>> 0;
  return { prefixLen, addr: addrMasked };
}
