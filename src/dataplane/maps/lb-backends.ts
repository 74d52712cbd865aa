// ebf_lb4_be_v1: backend id -> address, port, proto, flags. Mirrors
// struct lb4_backend in bpf/lib/lb.h.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_lb4_be_v1';
export const BE_F_TERMINATING = 0x1;

export interface Backend {
  address: number;
  port: number;
  proto: number;
  flags: number;
}

export const backendCodec: Codec<Backend> = {
  size: 8,
  layout: packed('lb4_backend', [['address', 4], ['port', 2], ['proto', 1], ['flags', 1]]),
  encode(v, b, o) {
    b.writeUInt32BE(v.address >>> 0, o);
    b.writeUInt16BE(v.port, o + 4);
    b.writeUInt8(v.proto, o + 6);
    b.writeUInt8(v.flags, o + 7);
  },
  decode(b, o) {
    return { address: b.readUInt32BE(o), port: b.readUInt16BE(o + 4), proto: b.readUInt8(o + 6), flags: b.readUInt8(o + 7) };
  },
};
