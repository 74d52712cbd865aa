// ebf_endpoints_v1: local pod IPv4 -> endpoint info (ifindex, endpoint id,
// identity, policy revision, enforcement flags). Mirrors struct
// endpoint_info in bpf/lib/endpoints.h.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_endpoints_v1';
export const EP_F_INGRESS_ENFORCED = 0x1;
export const EP_F_EGRESS_ENFORCED = 0x2;

export interface EndpointInfo {
  ifindex: number;
  endpointId: number;
  identity: number;
  policyRev: number;
  flags: number;
}

/** The key: an IPv4 address in network order (host-order number here). */
export const endpointKeyCodec: Codec<number> = {
  size: 4,
  encode: (v, b, o) => void b.writeUInt32BE(v >>> 0, o),
  decode: (b, o) => b.readUInt32BE(o),
};

export const endpointInfoCodec: Codec<EndpointInfo> = {
  size: 20,
  layout: packed('endpoint_info', [
    ['ifindex', 4], ['endpoint_id', 4], ['identity', 4], ['policy_rev', 4], ['flags', 1], ['pad', 3],
  ]),
  encode(v, b, o) {
    b.writeUInt32LE(v.ifindex >>> 0, o);
    b.writeUInt32LE(v.endpointId >>> 0, o + 4);
    b.writeUInt32LE(v.identity >>> 0, o + 8);
    b.writeUInt32LE(v.policyRev >>> 0, o + 12);
    b.writeUInt8(v.flags, o + 16);
    b.fill(0, o + 17, o + 20);
  },
  decode(b, o) {
    return {
      ifindex: b.readUInt32LE(o), endpointId: b.readUInt32LE(o + 4), identity: b.readUInt32LE(o + 8),
      policyRev: b.readUInt32LE(o + 12), flags: b.readUInt8(o + 16),
    };
  },
};
