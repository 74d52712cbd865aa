// ebf_lb_affm_v1: the (backend, service) pairs that affinity may still
// use. Mirrors struct lb_affinity_match in bpf/lib/lb.h. The LRU map
// ebf_lb4_aff_v1 itself is written only by BPF.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MATCH_MAP_NAME = 'ebf_lb_affm_v1';

export interface AffinityMatch {
  backendId: number;
  revNatId: number;
}

export const affinityMatchCodec: Codec<AffinityMatch> = {
  size: 8,
  layout: packed('lb_affinity_match', [['backend_id', 4], ['rev_nat_id', 4]]),
  encode(v, b, o) {
    b.writeUInt32LE(v.backendId >>> 0, o);
    b.writeUInt32LE(v.revNatId >>> 0, o + 4);
  },
  decode(b, o) {
    return { backendId: b.readUInt32LE(o), revNatId: b.readUInt32LE(o + 4) };
  },
};
