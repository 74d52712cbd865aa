// Crafted Ethernet/IPv4/TCP|UDP frames for BPF_PROG_TEST_RUN tests, and a
// parser that checks every checksum of what a program wrote back.
import { ipv4ToNumber, numberToIpv4 } from '../../src/dataplane/ip.js';

export interface PacketSpec {
  proto: 'tcp' | 'udp';
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  /** TCP flags byte, default SYN. */
  flags?: number;
  payload?: Buffer;
  /** Send a UDP datagram with checksum 0 ("no checksum"). */
  zeroUdpCsum?: boolean;
  /** Cut the frame after this many bytes. */
  truncate?: number;
}

export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;

function csum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const finish = (sum: number) => (~sum & 0xffff);

function pseudo(saddr: number, daddr: number, proto: number, len: number): number {
  const p = Buffer.alloc(12);
  p.writeUInt32BE(saddr, 0);
  p.writeUInt32BE(daddr, 4);
  p.writeUInt8(proto, 9);
  p.writeUInt16BE(len, 10);
  return csum(p);
}

export function buildPacket(s: PacketSpec): Buffer {
  const payload = s.payload ?? Buffer.from('hello');
  const l4len = (s.proto === 'tcp' ? 20 : 8) + payload.length;
  const b = Buffer.alloc(14 + 20 + l4len);
  Buffer.from([2, 0, 0, 0, 0, 1]).copy(b, 0);
  Buffer.from([2, 0, 0, 0, 0, 2]).copy(b, 6);
  b.writeUInt16BE(0x0800, 12);
  const ip = 14;
  b.writeUInt8(0x45, ip);
  b.writeUInt16BE(20 + l4len, ip + 2);
  b.writeUInt8(64, ip + 8);
  b.writeUInt8(s.proto === 'tcp' ? 6 : 17, ip + 9);
  b.writeUInt32BE(ipv4ToNumber(s.saddr), ip + 12);
  b.writeUInt32BE(ipv4ToNumber(s.daddr), ip + 16);
  b.writeUInt16BE(finish(csum(b.subarray(ip, ip + 20))), ip + 10);
  const l4 = ip + 20;
  b.writeUInt16BE(s.sport, l4);
  b.writeUInt16BE(s.dport, l4 + 2);
  if (s.proto === 'tcp') {
    b.writeUInt32BE(1000, l4 + 4);
    b.writeUInt8(0x50, l4 + 12);
    b.writeUInt8(s.flags ?? TCP_SYN, l4 + 13);
    b.writeUInt16BE(65535, l4 + 14);
    payload.copy(b, l4 + 20);
    const ph = pseudo(ipv4ToNumber(s.saddr), ipv4ToNumber(s.daddr), 6, l4len);
    b.writeUInt16BE(finish(csum(b.subarray(l4), ph)), l4 + 16);
  } else {
    b.writeUInt16BE(l4len, l4 + 4);
    payload.copy(b, l4 + 8);
    if (!s.zeroUdpCsum) {
      const ph = pseudo(ipv4ToNumber(s.saddr), ipv4ToNumber(s.daddr), 17, l4len);
      b.writeUInt16BE(finish(csum(b.subarray(l4), ph)) || 0xffff, l4 + 6);
    }
  }
  return s.truncate ? b.subarray(0, s.truncate) : b;
}

export interface ParsedPacket {
  proto: number;
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  ipCsumOk: boolean;
  l4CsumOk: boolean;
  udpCsum?: number;
  icmp?: { type: number; code: number; csumOk: boolean; inner: { saddr: string; daddr: string; sport: number; dport: number } };
  length: number;
}

export function parsePacket(b: Buffer): ParsedPacket {
  const ip = 14;
  const proto = b.readUInt8(ip + 9);
  const ihl = (b.readUInt8(ip) & 0xf) * 4;
  const l4 = ip + ihl;
  const saddr = b.readUInt32BE(ip + 12);
  const daddr = b.readUInt32BE(ip + 16);
  const totLen = b.readUInt16BE(ip + 2);
  const out: ParsedPacket = {
    proto, saddr: numberToIpv4(saddr), daddr: numberToIpv4(daddr), sport: 0, dport: 0,
    ipCsumOk: csum(b.subarray(ip, ip + ihl)) === 0xffff, l4CsumOk: true, length: b.length,
  };
  const l4buf = b.subarray(l4, ip + totLen);
  if (proto === 6 || proto === 17) {
    out.sport = b.readUInt16BE(l4);
    out.dport = b.readUInt16BE(l4 + 2);
    if (proto === 17) out.udpCsum = b.readUInt16BE(l4 + 6);
    if (proto === 6 || out.udpCsum !== 0) out.l4CsumOk = csum(l4buf, pseudo(saddr, daddr, proto, l4buf.length)) === 0xffff;
  } else if (proto === 1) {
    const inner = l4 + 8;
    out.icmp = {
      type: b.readUInt8(l4), code: b.readUInt8(l4 + 1), csumOk: csum(l4buf) === 0xffff,
      inner: {
        saddr: numberToIpv4(b.readUInt32BE(inner + 12)), daddr: numberToIpv4(b.readUInt32BE(inner + 16)),
        sport: b.readUInt16BE(inner + 20), dport: b.readUInt16BE(inner + 22),
      },
    };
  }
  return out;
}
