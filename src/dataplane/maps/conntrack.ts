// ebf_ct4_v1: conntrack of flows translated on the tc path. Mirrors
// struct ct4_tuple / ct4_entry in bpf/lib/conntrack.h.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_ct4_v1';
/** CT_TUPLE_F_* of bpf/lib/conntrack.h. */
export const CT_TUPLE_F_REPLY = 0x1;
export const CT_TUPLE_F_INGRESS = 0x2;
export const CT_TUPLE_F_SERVICE = 0x4;

export interface CtTuple {
  daddr: number;
  saddr: number;
  dport: number;
  sport: number;
  proto: number;
  flags: number;
}

export interface CtEntry {
  expiresNs: bigint;
  packets: bigint;
  bytes: bigint;
  backendId: number;
  revNatId: number;
  srcIdentity: number;
  tcpFlagsSeen: number;
  flags: number;
  policyVerdict: number;
  policyRev: number;
}

export const ctTupleCodec: Codec<CtTuple> = {
  size: 16,
  layout: packed('ct4_tuple', [
    ['daddr', 4], ['saddr', 4], ['dport', 2], ['sport', 2], ['nexthdr', 1], ['flags', 1], ['pad', 2],
  ]),
  encode(t, b, o) {
    b.writeUInt32BE(t.daddr >>> 0, o);
    b.writeUInt32BE(t.saddr >>> 0, o + 4);
    b.writeUInt16BE(t.dport, o + 8);
    b.writeUInt16BE(t.sport, o + 10);
    b.writeUInt8(t.proto, o + 12);
    b.writeUInt8(t.flags, o + 13);
    b.writeUInt16LE(0, o + 14);
  },
  decode(b, o) {
    return {
      daddr: b.readUInt32BE(o), saddr: b.readUInt32BE(o + 4), dport: b.readUInt16BE(o + 8),
      sport: b.readUInt16BE(o + 10), proto: b.readUInt8(o + 12), flags: b.readUInt8(o + 13),
    };
  },
};

export const ctEntryCodec: Codec<CtEntry> = {
  size: 48,
  layout: packed('ct4_entry', [
    ['expires_ns', 8], ['packets', 8], ['bytes', 8], ['backend_id', 4], ['rev_nat_id', 4],
    ['src_identity', 4], ['tcp_flags_seen', 1], ['flags', 1], ['policy_verdict', 1], ['pad', 1],
    ['policy_rev', 4], ['pad2', 4],
  ]),
  encode(e, b, o) {
    b.writeBigUInt64LE(e.expiresNs, o);
    b.writeBigUInt64LE(e.packets, o + 8);
    b.writeBigUInt64LE(e.bytes, o + 16);
    b.writeUInt32LE(e.backendId >>> 0, o + 24);
    b.writeUInt32LE(e.revNatId >>> 0, o + 28);
    b.writeUInt32LE(e.srcIdentity >>> 0, o + 32);
    b.writeUInt8(e.tcpFlagsSeen, o + 36);
    b.writeUInt8(e.flags, o + 37);
    b.writeUInt8(e.policyVerdict, o + 38);
    b.writeUInt8(0, o + 39);
    b.writeUInt32LE(e.policyRev >>> 0, o + 40);
    b.writeUInt32LE(0, o + 44);
  },
  decode(b, o) {
    return {
      expiresNs: b.readBigUInt64LE(o), packets: b.readBigUInt64LE(o + 8), bytes: b.readBigUInt64LE(o + 16),
      backendId: b.readUInt32LE(o + 24), revNatId: b.readUInt32LE(o + 28), srcIdentity: b.readUInt32LE(o + 32),
      tcpFlagsSeen: b.readUInt8(o + 36), flags: b.readUInt8(o + 37), policyVerdict: b.readUInt8(o + 38),
      policyRev: b.readUInt32LE(o + 40),
    };
  },
};
