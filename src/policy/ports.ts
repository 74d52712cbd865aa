// Ports: NetworkPolicyPort → numeric (proto, range) specs, named-port
// resolution against a pod's container ports, and the split of a port range
// into power-of-two aligned blocks for an LPM key ending in the 16-bit port.
import { PROTO, type NetworkPolicyPort, type Pod, type ProtoNumber, type Protocol } from './types.js';

/** A port match before named ports are resolved. portStart..portEnd 0..0 = any port. */
export type PortSpec =
  | { kind: 'numeric'; proto: ProtoNumber; portStart: number; portEnd: number }
  | { kind: 'named'; proto: 6 | 17 | 132; name: string };

/** Any protocol, any port: what a rule with no `ports` allows. */
export const ANY_PORT: PortSpec = { kind: 'numeric', proto: 0, portStart: 0, portEnd: 0 };

/** The specs of a rule's `ports` (absent or empty = all ports and protocols). */
export function portSpecs(ports: NetworkPolicyPort[] | null | undefined): PortSpec[] {
  if (!ports || ports.length === 0) return [ANY_PORT];
  const out: PortSpec[] = [];
  for (const p of ports) {
    const proto = PROTO[p.protocol ?? 'TCP'];
    if (proto === undefined) continue; // unknown protocol: allows nothing
    if (p.port === undefined || p.port === null) {
      out.push({ kind: 'numeric', proto, portStart: 0, portEnd: 0 });
    } else if (typeof p.port === 'number') {
      // endPort below port is rejected by validation; treat it as no range.
      const end = p.endPort !== undefined && p.endPort >= p.port ? p.endPort : p.port;
      out.push({ kind: 'numeric', proto, portStart: p.port, portEnd: end });
    } else if (/^\d+$/.test(p.port)) {
      // IntOrString arrives as a string of digits from some clients.
      const n = Number(p.port);
      const end = p.endPort !== undefined && p.endPort >= n ? p.endPort : n;
      out.push({ kind: 'numeric', proto, portStart: n, portEnd: end });
    } else {
      // endPort is only valid with a numeric port, so it is ignored here.
      out.push({ kind: 'named', proto, name: p.port });
    }
  }
  return out;
}

/** Container port numbers of `pod` named `name` with protocol `proto`. */
export function resolveNamedPort(pod: Pod, name: string, proto: 6 | 17 | 132): number[] {
  const out: number[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const cp of c.ports ?? []) {
      if (cp.name === name && PROTO[(cp.protocol ?? 'TCP') as Protocol] === proto) out.push(cp.containerPort);
    }
  }
  return out;
}

export interface PortBlock {
  /** First port of the block (aligned to its size). */
  port: number;
  /** How many leading bits of the 16-bit port are fixed: 16 = one port, 0 = all. */
  prefixLen: number;
}

/** The fewest aligned power-of-two blocks covering start..end inclusive. */
export function expandPortRange(start: number, end: number): PortBlock[] {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > 65535 || start > end) {
    throw new RangeError(`bad port range ${start}..${end}`);
  }
  const out: PortBlock[] = [];
  let p = start;
  while (p <= end) {
    // Grow the block while it stays aligned at p and inside the range.
    let bits = 0;
    while (bits < 16 && p % 2 ** (bits + 1) === 0 && p + 2 ** (bits + 1) - 1 <= end) bits++;
    out.push({ port: p, prefixLen: 16 - bits });
    p += 2 ** bits;
  }
  return out;
}

/** One LPM-ready piece of a policy entry: the port block of `expandPortRange`. */
export interface EntryPortBlock {
  proto: ProtoNumber;
  /** First port of the block; 0 with portPrefixLen 0 when any port matches. */
  port: number;
  /** Fixed leading bits of the port (16 = exactly `port`, 0 = any port). */
  portPrefixLen: number;
}

/**
 * The port blocks a (proto, portStart..portEnd) match needs in an LPM key
 * ending in the 16-bit port: "any port" (0..0) and "any protocol" (proto 0)
 * are a single block with no port bits fixed.
 */
export function entryPortBlocks(e: { proto: ProtoNumber; portStart: number; portEnd: number }): EntryPortBlock[] {
  if (e.proto === 0 || (e.portStart === 0 && e.portEnd === 0)) return [{ proto: e.proto, port: 0, portPrefixLen: 0 }];
  return expandPortRange(e.portStart, e.portEnd).map((b) => ({ proto: e.proto, port: b.port, portPrefixLen: b.prefixLen }));
}
