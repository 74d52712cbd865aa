// IPv4 address helpers shared by the map encoders.

/** Parses dotted IPv4 into an unsigned 32-bit number (host order). */
export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new TypeError(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new TypeError(`not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isIpv4(ip: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip) && ip.split('.').every((p) => Number(p) <= 255);
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
