// ebf_ipcache_v1: LPM trie of IPv4 prefixes -> security identity. Mirrors
// struct ipcache_key / ipcache_value in bpf/lib/endpoints.h.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const MAP_NAME = 'ebf_ipcache_v1';

export interface IpcacheKey {
  prefixLen: number;
  /** Network address as a host-order u32. */
  addr: number;
}

export const ipcacheKeyCodec: Codec<IpcacheKey> = {
  size: 8,
  layout: packed('ipcache_key', [['prefixlen', 4], ['addr', 4]]),
  encode(k, b, o) {
    b.writeUInt32LE(k.prefixLen, o);
    b.writeUInt32BE(k.addr >>> 0, o + 4);
  },
  decode: (b, o) => ({ prefixLen: b.readUInt32LE(o), addr: b.readUInt32BE(o + 4) }),
};

export const ipcacheValueCodec: Codec<number> = {
  size: 8,
  layout: packed('ipcache_value', [['identity', 4], ['pad', 4]]),
  encode(v, b, o) {
    b.writeUInt32LE(v >>> 0, o);
    b.writeUInt32LE(0, o + 4);
  },
  decode: (b, o) => b.readUInt32LE(o),
};
