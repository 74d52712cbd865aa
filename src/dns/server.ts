// A small authoritative DNS server for the cluster zone over UDP and TCP
// (RFC 1035 framing; dns-packet does the wire format). Answers carry a 5 s
// TTL like CoreDNS's default, negative answers the zone's SOA; responses
// too large for a plain UDP answer are truncated (TC) so clients retry on TCP.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Logger } from '../log/logger.js';
import type { Answer, Zone } from './zone.js';

const TTL = 5;
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface DnsServerHandle {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

function soa(zone: Zone): dnsPacket.Answer {
  return {
    type: 'SOA', name: zone.domain, ttl: TTL,
    data: { mname: `ns.dns.${zone.domain}`, rname: `hostmaster.${zone.domain}`, serial: Math.floor(Date.now() / 1000) >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: TTL },
  } as dnsPacket.Answer;
}

function toWire(a: Answer): dnsPacket.Answer {
  return { ...a, ttl: TTL } as dnsPacket.Answer;
}

/** The response bytes for one query packet (undefined: not worth answering). */
export function answer(zone: Zone, query: Buffer, maxUdp?: number): Buffer | undefined {
  let q: dnsPacket.Packet;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return undefined; // not DNS: drop, as servers do
  }
  if (q.type !== 'query') return undefined;
  const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const base = { type: 'response' as const, id: q.id ?? 0, questions: q.questions ?? [] };
  const question = q.questions?.[0];
  if (!question || (q.questions?.length ?? 0) !== 1 || ((q.flags ?? 0) >> 11) & 0xf) {
    return dnsPacket.encode({ ...base, flags: rd | RCODE.NOTIMP });
  }
  const res = zone.lookup(question.name, question.type);
  let packet: dnsPacket.Packet;
  if (res.rcode === 'REFUSED') packet = { ...base, flags: rd | RCODE.REFUSED };
  else if (res.rcode === 'NXDOMAIN') packet = { ...base, flags: rd | dnsPacket.AUTHORITATIVE_ANSWER | RCODE.NXDOMAIN, authorities: [soa(zone)] };
  else packet = { ...base, flags: rd | dnsPacket.AUTHORITATIVE_ANSWER, answers: res.answers.map(toWire), authorities: res.answers.length ? [] : [soa(zone)] };
  const out = dnsPacket.encode(packet);
  if (maxUdp !== undefined && out.length > maxUdp) {
    return dnsPacket.encode({ ...base, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
  }
  return out;
}

/** Serves the zone on address:port (UDP and TCP). */
export async function startDnsServer(zone: Zone, address: string, port: number, logger: Logger): Promise<DnsServerHandle> {
  const udp: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  udp.on('message', (msg, rinfo) => {
    // EDNS0 lets a client announce a larger UDP size; honour up to 1232 bytes.
    let max = 512;
    try {
      const opt = dnsPacket.decode(msg).additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
      if (opt?.udpPayloadSize) max = Math.min(Math.max(opt.udpPayloadSize, 512), 1232);
    } catch {
      // answer() drops what does not decode
    }
    const out = answer(zone, msg, max);
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on('error', (err) => logger.warn({ err: err.message }, 'dns udp socket error'));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const tcp: Server = createServer((sock) => {
    sock.setTimeout(10_000, () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const out = answer(zone, buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        if (!out) return sock.destroy();
        const framed = Buffer.alloc(2 + out.length);
        framed.writeUInt16BE(out.length, 0);
        out.copy(framed, 2);
        sock.write(framed);
      }
    });
    sock.on('error', () => sock.destroy());
  });
  const boundPort = udp.address().port;
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(boundPort, address, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  return {
    address,
    port: boundPort,
    async close() {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
