// ebf_lb4_mag_v1: service id -> Maglev lookup table of LB_MAGLEV_M backend
// ids. Mirrors struct lb4_maglev in bpf/lib/lb.h.
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_lb4_mag_v1';
/** LB_MAGLEV_M in bpf/lib/lb.h: the table size, a prime. */
export const MAGLEV_M = 1021;

export const maglevCodec: Codec<Uint32Array> = {
  size: MAGLEV_M * 4,
  layout: { name: 'lb4_maglev', size: MAGLEV_M * 4, fields: [{ name: 'backend_ids', offset: 0, size: MAGLEV_M * 4 }] },
  encode(v, b, o) {
    if (v.length !== MAGLEV_M) throw new RangeError(`maglev table must have ${MAGLEV_M} slots`);
    for (let i = 0; i < MAGLEV_M; i++) b.writeUInt32LE(v[i], o + i * 4);
  },
  decode(b, o) {
    const t = new Uint32Array(MAGLEV_M);
    for (let i = 0; i < MAGLEV_M; i++) t[i] = b.readUInt32LE(o + i * 4);
    return t;
  },
};
