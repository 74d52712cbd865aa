// IPv4 addresses and prefixes as numbers, for the ipcache and the compiler's
// ipBlock reasoning. IPv6 is not modelled yet: parse functions return
// undefined for it and callers skip such peers (documented in compiler.ts).

export interface Prefix {
  /** Network address as an unsigned 32-bit integer (host bits zero). */
  addr: number;
  /** Prefix length 0..32. */
  len: number;
}

/** Parses dotted-quad IPv4 into an unsigned integer, undefined if malformed. */
export function parseIPv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Netmask for a prefix length, as an unsigned integer. */
export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Parses "a.b.c.d/len" (host bits are cleared, as Kubernetes tolerates them). */
export function parseCidr(cidr: string): Prefix | undefined {
  const slash = cidr.indexOf('/');
  const ip = slash < 0 ? cidr : cidr.slice(0, slash);
  const lenText = slash < 0 ? '32' : cidr.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  const addr = parseIPv4(ip);
  if (addr === undefined || len > 32) return undefined;
  return { addr: (addr & maskOf(len)) >>> 0, len };
}

export function formatCidr(p: Prefix): string {
  return `${formatIPv4(p.addr)}/${p.len}`;
}

/** Canonical text of a CIDR ("10.0.0.5/8" → "10.0.0.0/8"), undefined if not IPv4. */
export function canonicalCidr(cidr: string): string | undefined {
  const p = parseCidr(cidr);
  return p && formatCidr(p);
}

/** True when prefix `inner` lies entirely inside prefix `outer`. */
export function prefixWithin(inner: Prefix, outer: Prefix): boolean {
  return inner.len >= outer.len && ((inner.addr & maskOf(outer.len)) >>> 0) === outer.addr;
}

/** True when address `ip` is inside prefix `p`. */
export function containsIp(p: Prefix, ip: number): boolean {
  return ((ip & maskOf(p.len)) >>> 0) === p.addr;
}
