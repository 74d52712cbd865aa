// Host-local IPAM for one node's podCIDR: allocations keyed by container id
// + ifname, persisted to a JSON file (write to a temp file, fsync, rename) so
// an agent restart keeps every pod's address and re-ADD of a known container
// returns the same one. All mutations run one at a time; a mutation is only
// visible once it is on disk.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface IpamConfig {
  /** The node's pod CIDR, e.g. 10.244.1.0/24. */
  podCIDR: string;
  /** The JSON state file (its directory is created). */
  stateFile: string;
  /** Addresses never handed out besides network and broadcast. */
  reserved?: string[];
}

export interface Allocation {
  ip: string;
  containerId: string;
  ifname: string;
  /** The netns path given at ADD. */
  netns: string;
  podNamespace?: string;
  podName?: string;
}

interface StateFile {
  version: 1;
  podCIDR: string;
  /** Offset of the last address handed out; the next search starts after it so addresses are not reused at once. */
  last: number;
  allocations: Record<string, Allocation>;
}

/** A stable error code for an exhausted pool. */
export class IpamExhaustedError extends Error {
  readonly code = 'IPAM_EXHAUSTED';
  constructor(cidr: string) {
    super(`no free address in ${cidr}`);
  }
}

export class IpamConfigError extends Error {
  readonly code = 'IPAM_CONFIG';
}

export const allocationKey = (containerId: string, ifname: string) => `${containerId}/${ifname}`;

function ipToNum(ip: string): number {
  const p = ip.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) throw new IpamConfigError(`invalid IPv4 address ${ip}`);
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}
const numToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Parses a.b.c.d/len into its first address and size. */
export function parseCidr(cidr: string): { base: number; size: number; prefix: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new IpamConfigError(`invalid CIDR ${cidr}`);
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 30) throw new IpamConfigError(`pod CIDR ${cidr}: prefix must be /8../30`);
  const size = 2 ** (32 - prefix);
  const base = ipToNum(m[1]!);
  if (base % size !== 0) throw new IpamConfigError(`pod CIDR ${cidr} has host bits set`);
  return { base, size, prefix };
}

export class Ipam {
  private state: StateFile;
  private readonly base: number;
  private readonly size: number;
  private readonly reserved: Set<number>;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly config: IpamConfig, state: StateFile) {
    const { base, size } = parseCidr(config.podCIDR);
    this.base = base;
    this.size = size;
    this.reserved = new Set((config.reserved ?? []).map(ipToNum));
    this.state = state;
  }

  /** Loads the state file (or starts empty); refuses a file written for another pod CIDR. */
  static open(config: IpamConfig): Ipam {
    parseCidr(config.podCIDR);
    let state: StateFile = { version: 1, podCIDR: config.podCIDR, last: 0, allocations: {} };
    let text: string | undefined;
    try {
      text = readFileSync(config.stateFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      const parsed = JSON.parse(text) as StateFile;
      if (parsed.version !== 1 || typeof parsed.allocations !== 'object') throw new IpamConfigError(`${config.stateFile}: unknown state format`);
      if (parsed.podCIDR !== config.podCIDR) {
        throw new IpamConfigError(`${config.stateFile} holds allocations of ${parsed.podCIDR}, not ${config.podCIDR}`);
      }
      state = parsed;
    }
    return new Ipam(config, state);
  }

  /** The allocation for a container+ifname, if any. */
  get(containerId: string, ifname: string): Allocation | undefined {
    return this.state.allocations[allocationKey(containerId, ifname)];
  }

  /** Every allocation. */
  list(): Allocation[] {
    return Object.values(this.state.allocations);
  }

  /** Returns the existing allocation of the key or takes the next free address; persisted before it resolves. */
  allocate(req: Omit<Allocation, 'ip'>): Promise<{ allocation: Allocation; created: boolean }> {
    return this.serial(() => {
      const key = allocationKey(req.containerId, req.ifname);
      const existing = this.state.allocations[key];
      if (existing) return { allocation: existing, created: false };
      const used = new Set(Object.values(this.state.allocations).map((a) => ipToNum(a.ip)));
      // Offsets 1..size-2: skip the network and broadcast addresses.
      const usable = this.size - 2;
      for (let i = 1; i <= usable; i++) {
        const off = ((this.state.last + i - 1) % usable) + 1;
        const n = this.base + off;
        if (used.has(n) || this.reserved.has(n)) continue;
        const allocation: Allocation = { ...req, ip: numToIp(n) };
        this.commit({ ...this.state, last: off, allocations: { ...this.state.allocations, [key]: allocation } });
        return { allocation, created: true };
      }
      throw new IpamExhaustedError(this.config.podCIDR);
    });
  }

  /** Releases the key's address; resolves to what was released (undefined when nothing was held). */
  release(containerId: string, ifname: string): Promise<Allocation | undefined> {
    return this.serial(() => {
      const key = allocationKey(containerId, ifname);
      const existing = this.state.allocations[key];
      if (!existing) return undefined;
      const allocations = { ...this.state.allocations };
      delete allocations[key];
      this.commit({ ...this.state, allocations });
      return existing;
    });
  }

  /** Releases every allocation whose container+ifname is not in `valid`; resolves to those released. */
  gc(valid: { containerId: string; ifname: string }[]): Promise<Allocation[]> {
    return this.serial(() => {
      const keep = new Set(valid.map((v) => allocationKey(v.containerId, v.ifname)));
      const allocations: Record<string, Allocation> = {};
      const released: Allocation[] = [];
      for (const [k, a] of Object.entries(this.state.allocations)) {
        if (keep.has(k)) allocations[k] = a;
        else released.push(a);
      }
      if (released.length > 0) this.commit({ ...this.state, allocations });
      return released;
    });
  }

  private serial<T>(fn: () => T): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes the new state durably, then adopts it (a failed write leaves memory and disk unchanged). */
  private commit(next: StateFile): void {
    const file = this.config.stateFile;
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(next, null, 1)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    this.state = next;
  }
}
