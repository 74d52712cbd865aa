// ebf_lb4_svc_v1: (VIP, port, proto, slot) -> service header (slot 0) or
// backend id (slots 1..count). Mirrors struct lb4_key / lb4_service in bpf/lib/lb.h.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_lb4_svc_v1';

export const SVC_F_AFFINITY = 0x1;
export const SVC_F_MAGLEV = 0x2;
/** The wildcard (0.0.0.0, nodePort) frontend the uplink programs look up. */
export const SVC_F_NODEPORT = 0x4;
/** With SVC_F_NODEPORT: externalTrafficPolicy Local (local backends only, no SNAT). */
export const SVC_F_LOCAL = 0x8;

export interface ServiceKey {
  /** VIP as a host-order u32. */
  address: number;
  port: number;
  proto: number;
  slot: number;
}

export interface ServiceValue {
  backendId: number;
  revNatId: number;
  affinityTimeout: number;
  count: number;
  flags: number;
}

export const serviceKeyCodec: Codec<ServiceKey> = {
  size: 12,
  layout: packed('lb4_key', [['address', 4], ['dport', 2], ['backend_slot', 2], ['proto', 1], ['pad', 3]]),
  encode(k, b, o) {
    b.writeUInt32BE(k.address >>> 0, o);
    b.writeUInt16BE(k.port, o + 4);
    b.writeUInt16LE(k.slot, o + 6);
    b.writeUInt8(k.proto, o + 8);
    b.fill(0, o + 9, o + 12);
  },
  decode(b, o) {
    return { address: b.readUInt32BE(o), port: b.readUInt16BE(o + 4), slot: b.readUInt16LE(o + 6), proto: b.readUInt8(o + 8) };
  },
};

export const serviceValueCodec: Codec<ServiceValue> = {
  size: 16,
  layout: packed('lb4_service', [
    ['backend_id', 4], ['rev_nat_id', 4], ['affinity_timeout', 4], ['count', 2], ['flags', 1], ['pad', 1],
  ]),
  encode(v, b, o) {
    b.writeUInt32LE(v.backendId >>> 0, o);
    b.writeUInt32LE(v.revNatId >>> 0, o + 4);
    b.writeUInt32LE(v.affinityTimeout >>> 0, o + 8);
    b.writeUInt16LE(v.count, o + 12);
    b.writeUInt8(v.flags, o + 14);
    b.writeUInt8(0, o + 15);
  },
  decode(b, o) {
    return {
      backendId: b.readUInt32LE(o),
      revNatId: b.readUInt32LE(o + 4),
      affinityTimeout: b.readUInt32LE(o + 8),
      count: b.readUInt16LE(o + 12),
      flags: b.readUInt8(o + 14),
    };
  },
};

/** Service-map rows encoded straight into batch buffers from scalars, so a
 * 300,000-row sync allocates no per-row key/value objects (the allocation
 * rate showed up as GC time in profiles). Same layout as the codecs above. */
export class ServiceRowBatch {
  private keys = Buffer.alloc(12 * 256);
  private values = Buffer.alloc(16 * 256);
  count = 0;

  add(address: number, port: number, proto: number, slot: number,
      backendId: number, revNatId: number, affinityTimeout: number, count: number, flags: number): void {
    if ((this.count + 1) * 12 > this.keys.length) {
      this.keys = Buffer.concat([this.keys, Buffer.alloc(this.keys.length)]);
      this.values = Buffer.concat([this.values, Buffer.alloc(this.values.length)]);
    }
    const k = this.count * 12;
    const v = this.count * 16;
    this.keys.writeUInt32BE(address >>> 0, k);
    this.keys.writeUInt16BE(port, k + 4);
    this.keys.writeUInt16LE(slot, k + 6);
    this.keys.writeUInt8(proto, k + 8);
    this.values.writeUInt32LE(backendId >>> 0, v);
    this.values.writeUInt32LE(revNatId >>> 0, v + 4);
    this.values.writeUInt32LE(affinityTimeout >>> 0, v + 8);
    this.values.writeUInt16LE(count, v + 12);
    this.values.writeUInt8(flags, v + 14);
    this.count++;
  }

  /** Keys only (for deletes). */
  addKey(address: number, port: number, proto: number, slot: number): void {
    this.add(address, port, proto, slot, 0, 0, 0, 0, 0);
  }

  async write(handle: { updateBatch(k: Buffer, v: Buffer, flags?: number): Promise<number> }): Promise<number> {
    if (this.count === 0) return 0;
    await handle.updateBatch(this.keys.subarray(0, this.count * 12), this.values.subarray(0, this.count * 16));
    return this.count;
  }

  async delete(handle: { deleteBatch(k: Buffer): Promise<number> }): Promise<number> {
    if (this.count === 0) return 0;
    await handle.deleteBatch(this.keys.subarray(0, this.count * 12));
    return this.count;
  }
}
