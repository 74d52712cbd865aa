// IPv4 address helpers shared by the map encoders.

/** Parses dotted IPv4 into an unsigned 32-bit number (host order), or -1. */
export function parseIpv4(ip: string): number {
  // Hand-rolled: this runs once per endpoint per sync, where split/regex
  // allocations showed up in profiles of 30,000-service syncs.
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 3 || (digits > 0 && part === 0)) return -1;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return (n * 256 + part) >>> 0;
}

export function ipv4ToNumber(ip: string): number {
  const n = parseIpv4(ip);
  if (n < 0) throw new TypeError(`not an IPv4 address: ${ip}`);
  return n;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isIpv4(ip: string): boolean {
  return parseIpv4(ip) >= 0;
}

/** IANA protocol numbers for the protocols a Service port can name. */
export const PROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;
export type ProtocolName = keyof typeof PROTO;

export function protoNumber(name: string | undefined): number {
  const p = PROTO[(name ?? 'TCP').toUpperCase() as ProtocolName];
  if (p === undefined) throw new TypeError(`unsupported protocol ${name}`);
  return p;
}

export function protoName(n: number): string {
  for (const [k, v] of Object.entries(PROTO)) if (v === n) return k;
  return String(n);
}
