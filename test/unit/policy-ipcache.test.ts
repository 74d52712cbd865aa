import { describe, expect, it } from 'vitest';
import { formatIPv4, parseCidr, parseIPv4 } from '../../src/policy/cidr.js';
import { diffIpcache, Ipcache, type IpcacheEntry } from '../../src/policy/ipcache.js';

const entries: IpcacheEntry[] = [
  { cidr: '0.0.0.0/0', identity: 2 },
  { cidr: '10.0.0.0/8', identity: 100 },
  { cidr: '10.1.0.0/16', identity: 101 },
  { cidr: '10.1.2.3/32', identity: 300 },
  { cidr: '10.1.2.0/24', identity: 102 },
];

// A deterministic PRNG so the randomized comparison is reproducible.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s;
  };
}

describe('Ipcache', () => {
  it('answers with the longest matching prefix', () => {
    const c = new Ipcache(entries);
    expect(c.lookup('10.1.2.3')).toBe(300);
    expect(c.lookup('10.1.2.4')).toBe(102);
    expect(c.lookup('10.1.3.1')).toBe(101);
    expect(c.lookup('10.2.0.1')).toBe(100);
    expect(c.lookup('8.8.8.8')).toBe(2);
    expect(c.lookup('not-an-ip')).toBeUndefined();
    expect(new Ipcache([{ cidr: '10.0.0.0/8', identity: 1 }]).lookup('11.0.0.1')).toBeUndefined();
  });

  it('agrees with a linear scan on random tables and addresses', () => {
    const rnd = prng(42);
    for (let round = 0; round < 10; round++) {
      const table = new Map<string, number>();
      for (let i = 0; i < 50; i++) {
        const len = rnd() % 33;
        const p = parseCidr(`${formatIPv4(rnd() & 0x0fffffff | 0x0a000000)}/${len}`)!;
        table.set(`${formatIPv4(p.addr)}/${p.len}`, 1000 + i);
      }
      const list = [...table].map(([cidr, identity]) => ({ cidr, identity }));
      const c = new Ipcache(list);
      for (let i = 0; i < 200; i++) {
        const ip = (rnd() & 0x0fffffff) | 0x0a000000;
        let best: IpcacheEntry | undefined;
        for (const e of list) {
          const p = parseCidr(e.cidr)!;
          const inside = p.len === 0 || ip >>> (32 - p.len) === p.addr >>> (32 - p.len);
          if (inside && (!best || p.len > parseCidr(best.cidr)!.len)) best = e;
        }
        expect(c.lookup(formatIPv4(ip))).toBe(best?.identity);
      }
    }
  });

  it('canonicalizes host bits and refuses one prefix with two identities', () => {
    expect(new Ipcache([{ cidr: '10.1.2.3/8', identity: 5 }]).entries()).toEqual([{ cidr: '10.0.0.0/8', identity: 5 }]);
    expect(() => new Ipcache([{ cidr: '10.0.0.0/8', identity: 5 }, { cidr: '10.9.9.9/8', identity: 6 }])).toThrow(/both/);
    expect(() => new Ipcache([{ cidr: 'fd00::/8', identity: 5 }])).toThrow(/IPv4/);
  });

  it('parses addresses strictly', () => {
    expect(parseIPv4('10.0.0.256')).toBeUndefined();
    expect(parseIPv4('10.0.0')).toBeUndefined();
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
  });
});

describe('diffIpcache', () => {
  it('upserts new and changed prefixes and deletes removed ones', () => {
    const next: IpcacheEntry[] = [
      { cidr: '0.0.0.0/0', identity: 2 },
      { cidr: '10.0.0.0/8', identity: 100 },
      { cidr: '10.1.0.0/16', identity: 111 },
      { cidr: '192.168.0.0/16', identity: 103 },
    ];
    const d = diffIpcache(entries, next);
    expect(d.upserts).toEqual([
      { cidr: '10.1.0.0/16', identity: 111 },
      { cidr: '192.168.0.0/16', identity: 103 },
    ]);
    expect(d.deletes.sort()).toEqual(['10.1.2.0/24', '10.1.2.3/32']);
    const applied = new Map(entries.map((e) => [e.cidr, e.identity]));
    for (const u of d.upserts) applied.set(u.cidr, u.identity);
    for (const k of d.deletes) applied.delete(k);
    expect(new Map(next.map((e) => [e.cidr, e.identity]))).toEqual(applied);
  });

  it('is empty when nothing changed, however the CIDRs are spelled', () => {
    expect(diffIpcache([{ cidr: '10.1.1.1/8', identity: 1 }], [{ cidr: '10.0.0.0/8', identity: 1 }])).toEqual({ upserts: [], deletes: [] });
  });
});
