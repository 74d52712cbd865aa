// ebf_lb4_rnat_v1: service id -> VIP:port, used to restore the frontend on
// replies; the same struct is the value of the socket reverse map
// ebf_lb4_rsk_v1. Mirrors struct lb4_reverse_nat in bpf/lib/lb.h.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_lb4_rnat_v1';

export interface ReverseNat {
  address: number;
  port: number;
}

export const reverseNatCodec: Codec<ReverseNat> = {
  size: 8,
  layout: packed('lb4_reverse_nat', [['address', 4], ['port', 2], ['pad', 2]]),
  encode(v, b, o) {
    b.writeUInt32BE(v.address >>> 0, o);
    b.writeUInt16BE(v.port, o + 4);
    b.writeUInt16LE(0, o + 6);
  },
  decode(b, o) {
    return { address: b.readUInt32BE(o), port: b.readUInt16BE(o + 4) };
  },
};
