// The ipcache model: a longest-prefix-match table from IPv4 prefix to
// security identity, mirroring the BPF LPM map the agent fills. It holds pod
// IPs (/32 → pod identity), every ipBlock CIDR and except hole (→ its CIDR
// identity) and 0.0.0.0/0 → WORLD, so every address resolves to something.
import { formatCidr, parseCidr, parseIPv4, maskOf, type Prefix } from './cidr.js';

export interface IpcacheEntry {
  /** Canonical "a.b.c.d/len". */
  cidr: string;
  identity: number;
}

export interface IpcacheDiff {
  /** Entries to write (new prefixes and prefixes whose identity changed). */
  upserts: IpcacheEntry[];
  /** Prefixes to remove. */
  deletes: string[];
}

/** A read-only LPM table; `lookup` answers as the BPF LPM trie would. */
export class Ipcache {
  // One hash per prefix length, probed from /32 down: 33 probes at most,
  // simple enough to be obviously right, which is what a model is for.
  private readonly byLen: Map<number, number>[] = Array.from({ length: 33 }, () => new Map());
  private readonly entryList: IpcacheEntry[] = [];

  constructor(entries: Iterable<IpcacheEntry>) {
    for (const e of entries) {
      const p = parseCidr(e.cidr);
      if (!p) throw new Error(`ipcache: not an IPv4 CIDR: ${e.cidr}`);
      const table = this.byLen[p.len];
      const prev = table.get(p.addr);
      if (prev !== undefined && prev !== e.identity) {
        throw new Error(`ipcache: ${formatCidr(p)} maps to both ${prev} and ${e.identity}`);
      }
      if (prev === undefined) this.entryList.push({ cidr: formatCidr(p), identity: e.identity });
      table.set(p.addr, e.identity);
    }
  }

  /** Identity of the longest prefix containing `ip`, undefined if none does. */
  lookup(ip: string): number | undefined {
    const a = parseIPv4(ip);
    if (a === undefined) return undefined;
    return this.lookupAddr(a)?.identity;
  }

  /** Like lookup, but also returns the matching prefix. */
  lookupAddr(addr: number): { prefix: Prefix; identity: number } | undefined {
    for (let len = 32; len >= 0; len--) {
      const net = (addr & maskOf(len)) >>> 0;
      const id = this.byLen[len].get(net);
      if (id !== undefined) return { prefix: { addr: net, len }, identity: id };
    }
    return undefined;
  }

  entries(): IpcacheEntry[] {
    return [...this.entryList];
  }
}

/** What to write and delete so a map holding `old` ends up holding `next`. */
export function diffIpcache(old: Iterable<IpcacheEntry>, next: Iterable<IpcacheEntry>): IpcacheDiff {
  const before = new Map<string, number>();
  for (const e of old) before.set(canonical(e.cidr), e.identity);
  const after = new Map<string, number>();
  for (const e of next) after.set(canonical(e.cidr), e.identity);
  const upserts: IpcacheEntry[] = [];
  const deletes: string[] = [];
  for (const [cidr, identity] of after) {
    if (before.get(cidr) !== identity) upserts.push({ cidr, identity });
  }
  for (const cidr of before.keys()) if (!after.has(cidr)) deletes.push(cidr);
  // Writes before deletes is the order the agent should apply them in: a
  // longer prefix being deleted falls back to a shorter one that is already
  // present, so no address ever resolves to nothing mid-update.
  return { upserts, deletes };
}

function canonical(cidr: string): string {
  const p = parseCidr(cidr);
  if (!p) throw new Error(`ipcache: not an IPv4 CIDR: ${cidr}`);
  return formatCidr(p);
}
