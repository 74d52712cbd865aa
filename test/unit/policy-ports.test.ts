import { describe, expect, it } from 'vitest';
import { entryPortBlocks, expandPortRange, portSpecs } from '../../src/policy/ports.js';

describe('expandPortRange', () => {
  it('one port is one full-length block', () => {
    expect(expandPortRange(80, 80)).toEqual([{ port: 80, prefixLen: 16 }]);
  });

  it('the whole port space is one zero-length block', () => {
    expect(expandPortRange(0, 65535)).toEqual([{ port: 0, prefixLen: 0 }]);
  });

  it('1-65535 needs one block per bit', () => {
    const b = expandPortRange(1, 65535);
    expect(b).toHaveLength(16);
    expect(b[0]).toEqual({ port: 1, prefixLen: 16 });
    expect(b[15]).toEqual({ port: 32768, prefixLen: 1 });
  });

  it('8080-8090 is 8080/13, 8088/15, 8090/16', () => {
    expect(expandPortRange(8080, 8090)).toEqual([
      { port: 8080, prefixLen: 13 },
      { port: 8088, prefixLen: 15 },
      { port: 8090, prefixLen: 16 },
    ]);
  });

  it('blocks are aligned, disjoint and cover exactly the range', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 65536;
    for (let i = 0; i < 300; i++) {
      const [s, e] = [rnd(), rnd()].sort((a, b) => a - b);
      let next = s;
      for (const blk of expandPortRange(s, e)) {
        const size = 2 ** (16 - blk.prefixLen);
        expect(blk.port).toBe(next);
        expect(blk.port % size).toBe(0);
        next += size;
      }
      expect(next - 1).toBe(e);
    }
  });

  it('uses no more blocks than an exhaustive search finds for small ranges', () => {
    // Minimum cover by dynamic programming over all ranges in 0..63.
    const memo = new Map<string, number>();
    const best = (s: number, e: number): number => {
      if (s > e) return 0;
      const k = `${s},${e}`;
      if (memo.has(k)) return memo.get(k)!;
      let m = Infinity;
      for (let bits = 0; bits <= 6; bits++) {
        const size = 2 ** bits;
        if (s % size === 0 && s + size - 1 <= e) m = Math.min(m, 1 + best(s + size, e));
      }
      memo.set(k, m);
      return m;
    };
    for (let s = 0; s < 64; s += 3) for (let e = s; e < 64; e += 5) expect(expandPortRange(s, e).length).toBe(best(s, e));
  });

  it('rejects bad ranges', () => {
    expect(() => expandPortRange(10, 9)).toThrow(RangeError);
    expect(() => expandPortRange(0, 65536)).toThrow(RangeError);
  });
});

describe('portSpecs', () => {
  it('no ports means any protocol and port; protocol defaults to TCP', () => {
    expect(portSpecs(undefined)).toEqual([{ kind: 'numeric', proto: 0, portStart: 0, portEnd: 0 }]);
    expect(portSpecs([])).toEqual([{ kind: 'numeric', proto: 0, portStart: 0, portEnd: 0 }]);
    expect(portSpecs([{ port: 443 }])).toEqual([{ kind: 'numeric', proto: 6, portStart: 443, portEnd: 443 }]);
    expect(portSpecs([{ protocol: 'UDP' }])).toEqual([{ kind: 'numeric', proto: 17, portStart: 0, portEnd: 0 }]);
    expect(portSpecs([{ protocol: 'SCTP', port: 80, endPort: 90 }])).toEqual([{ kind: 'numeric', proto: 132, portStart: 80, portEnd: 90 }]);
    expect(portSpecs([{ port: 'http' }])).toEqual([{ kind: 'named', proto: 6, name: 'http' }]);
  });
});

describe('entryPortBlocks', () => {
  it('any protocol or any port is one block with no port bits', () => {
    expect(entryPortBlocks({ proto: 0, portStart: 0, portEnd: 0 })).toEqual([{ proto: 0, port: 0, portPrefixLen: 0 }]);
    expect(entryPortBlocks({ proto: 17, portStart: 0, portEnd: 0 })).toEqual([{ proto: 17, port: 0, portPrefixLen: 0 }]);
  });

  it('a range becomes its aligned blocks', () => {
    expect(entryPortBlocks({ proto: 6, portStart: 80, portEnd: 81 })).toEqual([{ proto: 6, port: 80, portPrefixLen: 15 }]);
    expect(entryPortBlocks({ proto: 132, portStart: 8080, portEnd: 8090 }).map((b) => b.portPrefixLen)).toEqual([13, 15, 16]);
  });
});
