// ebf_lb4_svc_v1: (VIP, port, proto, slot) -> service header (slot 0) or
// backend id (slots 1..count). Mirrors struct lb4_key / lb4_service in bpf/lib/lb.h.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_lb4_svc_v1';

export const SVC_F_AFFINITY = 0x1;
export const SVC_F_MAGLEV = 0x2;

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
