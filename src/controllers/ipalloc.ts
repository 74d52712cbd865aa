// Allocators for Service ClusterIPs, NodePorts and node pod CIDRs: pure
// bitmap-style bookkeeping over an IPv4 range, rebuilt from what the API
// already holds, usable by a controller or as an API-server admission hook.

/** Parses "a.b.c.d/n" into [base as uint32, prefix length]. */
export function parseCidr(cidr: string): [number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  const parts = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (parts.some((p) => p > 255) || bits > 32) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  const ip = ipToInt(parts.join('.'))!;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [(ip & mask) >>> 0, bits];
}

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Numbers in [first, last], handed out lowest-free-first after a rotating cursor. */
export class RangeAllocator {
  private used = new Set<number>();
  private cursor: number;
  constructor(readonly first: number, readonly last: number, private readonly reserved: Set<number> = new Set()) {
    this.cursor = first;
  }
  get size(): number {
    return this.last - this.first + 1;
  }
  contains(n: number): boolean {
    return n >= this.first && n <= this.last;
  }
  has(n: number): boolean {
    return this.used.has(n);
  }
  /** Marks n used; false if out of range or taken. */
  claim(n: number): boolean {
    if (!this.contains(n) || this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }
  release(n: number): void {
    this.used.delete(n);
  }
  /** The next free, unreserved number, or undefined when full. */
  next(): number | undefined {
    for (let i = 0; i < this.size; i++) {
      const n = this.first + ((this.cursor - this.first + i) % this.size);
      if (this.used.has(n) || this.reserved.has(n)) continue;
      this.used.add(n);
      this.cursor = n + 1 > this.last ? this.first : n + 1;
      return n;
    }
    return undefined;
  }
}

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_NODE_PORT_RANGE: [number, number] = [30000, 32767];

/** ClusterIPs from a CIDR: network and broadcast unusable; .1 (kubernetes) and .10 (DNS) only by request. */
export function clusterIPAllocator(cidr = DEFAULT_SERVICE_CIDR): RangeAllocator & { wellKnown: { kubernetes: string; dns: string } } {
  const [base, bits] = parseCidr(cidr);
  const size = 2 ** (32 - bits);
  const first = base + 1;
  const last = base + size - 2;
  const kubernetes = base + 1;
  const dns = base + 10;
  const a = new RangeAllocator(first, last, new Set([kubernetes, dns])) as RangeAllocator & { wellKnown: { kubernetes: string; dns: string } };
  a.wellKnown = { kubernetes: intToIp(kubernetes), dns: intToIp(dns) };
  return a;
}

/** Per-node pod CIDRs: the cluster CIDR cut into blocks of maskSize bits. */
export class CidrBlockAllocator {
  private readonly blocks: RangeAllocator;
  private readonly base: number;
  private readonly step: number;
  constructor(clusterCidr = '10.244.0.0/16', readonly maskSize = 24) {
    const [base, bits] = parseCidr(clusterCidr);
    if (maskSize < bits || maskSize > 32) throw new Error(`node mask /${maskSize} does not fit in ${clusterCidr}`);
    this.base = base;
    this.step = 2 ** (32 - maskSize);
    this.blocks = new RangeAllocator(0, 2 ** (maskSize - bits) - 1);
  }
  private indexOf(cidr: string): number | undefined {
    try {
      const [b, bits] = parseCidr(cidr);
      if (bits !== this.maskSize) return undefined;
      const i = (b - this.base) / this.step;
      return Number.isInteger(i) && this.blocks.contains(i) ? i : undefined;
    } catch {
      return undefined;
    }
  }
  claim(cidr: string): boolean {
    const i = this.indexOf(cidr);
    return i !== undefined && this.blocks.claim(i);
  }
  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== undefined) this.blocks.release(i);
  }
  next(): string | undefined {
    const i = this.blocks.next();
    return i === undefined ? undefined : `${intToIp(this.base + i * this.step)}/${this.maskSize}`;
  }
}
