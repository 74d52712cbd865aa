// ebf_policy_v1: LPM trie of allow entries keyed by (endpoint id, remote
// identity, direction, protocol, port prefix). Mirrors struct policy_key /
// policy_value in bpf/lib/policy.h; the prefix length counts bits after
// prefixlen: endpoint 32, identity 32, direction 8, protocol 8, port 16.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_policy_v1';
export const POLICY_DIR_INGRESS = 0;
export const POLICY_DIR_EGRESS = 1;
/** Prefix length of a key whose every field counts. */
export const POLICY_FULL_PREFIX = 96;
/** Prefix length up to and including the direction (any protocol, any port). */
export const POLICY_ANY_PROTO_PREFIX = 72;
/** Prefix length up to and including the protocol (any port). */
export const POLICY_ANY_PORT_PREFIX = 80;

export interface PolicyKey {
  prefixLen: number;
  endpointId: number;
  /** Remote identity; 0 = any peer. */
  identity: number;
  direction: number;
  /** 0 = any protocol. */
  proto: number;
  port: number;
}

export interface PolicyValue {
  allow: boolean;
  rule: number;
}

export const policyKeyCodec: Codec<PolicyKey> = {
  size: 16,
  layout: packed('policy_key', [
    ['prefixlen', 4], ['endpoint_id', 4], ['identity', 4], ['direction', 1], ['proto', 1], ['dport', 2],
  ]),
  encode(k, b, o) {
    b.writeUInt32LE(k.prefixLen, o);
    // endpoint and identity always match in full, so they stay in host
    // order as BPF writes them; the port, matched by prefix, is big-endian
    // because the trie compares bytes most significant first.
    b.writeUInt32LE(k.endpointId >>> 0, o + 4);
    b.writeUInt32LE(k.identity >>> 0, o + 8);
    b.writeUInt8(k.direction, o + 12);
    b.writeUInt8(k.proto, o + 13);
    b.writeUInt16BE(k.port, o + 14);
  },
  decode: (b, o) => ({
    prefixLen: b.readUInt32LE(o), endpointId: b.readUInt32LE(o + 4), identity: b.readUInt32LE(o + 8),
    direction: b.readUInt8(o + 12), proto: b.readUInt8(o + 13), port: b.readUInt16BE(o + 14),
  }),
};

export const policyValueCodec: Codec<PolicyValue> = {
  size: 8,
  layout: packed('policy_value', [['allow', 1], ['pad', 3], ['rule', 4]]),
  encode(v, b, o) {
    b.writeUInt8(v.allow ? 1 : 0, o);
    b.fill(0, o + 1, o + 4);
    b.writeUInt32LE(v.rule >>> 0, o + 4);
  },
  decode: (b, o) => ({ allow: b.readUInt8(o) === 1, rule: b.readUInt32LE(o + 4) }),
};
