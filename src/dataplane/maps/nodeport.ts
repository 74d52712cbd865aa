// ebf_np4_cfg_v1 (this node's NodePort settings) and ebf_np4_nat_v1
// (NodePort flows: ct4_tuple -> struct np4_entry). Mirrors struct
// nodeport_config and struct np4_entry in bpf/lib/nodeport.h; the NAT
// table's key reuses the conntrack tuple codec.
import { packed } from '../layout.js';
import type { Codec } from '../typed-map.js';

export const CONFIG_MAP_NAME = 'ebf_np4_cfg_v1';
export const NAT_MAP_NAME = 'ebf_np4_nat_v1';

/** NP_TUPLE_F_REPLY: the reply-direction key of a flow. */
export const NP_TUPLE_F_REPLY = 0x1;
/** NP_F_SNAT: the flow's backend is on another node; the source is the node's. */
export const NP_F_SNAT = 0x4;

export interface NodePortMapConfig {
  /** This node's address as a host-order u32; 0 turns NodePort off. */
  nodeIP: number;
  portMin: number;
  portMax: number;
  snatMin: number;
  snatMax: number;
}

export interface NodePortEntry {
  expiresNs: bigint;
  packets: bigint;
  bytes: bigint;
  backendId: number;
  revNatId: number;
  clientAddr: number;
  clientPort: number;
  frontendPort: number;
  snatPort: number;
  tcpFlagsSeen: number;
  flags: number;
}

export const nodePortConfigCodec: Codec<NodePortMapConfig> = {
  size: 16,
  layout: packed('nodeport_config', [
    ['node_ip', 4], ['port_min', 2], ['port_max', 2], ['snat_min', 2], ['snat_max', 2], ['pad', 4],
  ]),
  encode(c, b, o) {
    b.writeUInt32BE(c.nodeIP >>> 0, o);
    b.writeUInt16LE(c.portMin, o + 4);
    b.writeUInt16LE(c.portMax, o + 6);
    b.writeUInt16LE(c.snatMin, o + 8);
    b.writeUInt16LE(c.snatMax, o + 10);
    b.writeUInt32LE(0, o + 12);
  },
  decode(b, o) {
    return {
      nodeIP: b.readUInt32BE(o), portMin: b.readUInt16LE(o + 4), portMax: b.readUInt16LE(o + 6),
      snatMin: b.readUInt16LE(o + 8), snatMax: b.readUInt16LE(o + 10),
    };
  },
};

export const nodePortEntryCodec: Codec<NodePortEntry> = {
  size: 48,
  layout: packed('np4_entry', [
    ['expires_ns', 8], ['packets', 8], ['bytes', 8], ['backend_id', 4], ['rev_nat_id', 4],
    ['client_addr', 4], ['client_port', 2], ['frontend_port', 2], ['snat_port', 2],
    ['tcp_flags_seen', 1], ['flags', 1], ['pad', 4],
  ]),
  encode(e, b, o) {
    b.writeBigUInt64LE(e.expiresNs, o);
    b.writeBigUInt64LE(e.packets, o + 8);
    b.writeBigUInt64LE(e.bytes, o + 16);
    b.writeUInt32LE(e.backendId >>> 0, o + 24);
    b.writeUInt32LE(e.revNatId >>> 0, o + 28);
    b.writeUInt32BE(e.clientAddr >>> 0, o + 32);
    b.writeUInt16BE(e.clientPort, o + 36);
    b.writeUInt16BE(e.frontendPort, o + 38);
    b.writeUInt16BE(e.snatPort, o + 40);
    b.writeUInt8(e.tcpFlagsSeen, o + 42);
    b.writeUInt8(e.flags, o + 43);
    b.writeUInt32LE(0, o + 44);
  },
  decode(b, o) {
    return {
      expiresNs: b.readBigUInt64LE(o), packets: b.readBigUInt64LE(o + 8), bytes: b.readBigUInt64LE(o + 16),
      backendId: b.readUInt32LE(o + 24), revNatId: b.readUInt32LE(o + 28), clientAddr: b.readUInt32BE(o + 32),
      clientPort: b.readUInt16BE(o + 36), frontendPort: b.readUInt16BE(o + 38), snatPort: b.readUInt16BE(o + 40),
      tcpFlagsSeen: b.readUInt8(o + 42), flags: b.readUInt8(o + 43),
    };
  },
};
