import { describe, expect, it } from 'vitest';
import { assertLayout, compareLayout, LayoutMismatchError, packed } from '../../src/dataplane/layout.js';
import { IdAllocator } from '../../src/dataplane/id-allocator.js';
import { serviceKeyCodec, serviceValueCodec } from '../../src/dataplane/maps/lb-services.js';

describe('struct layout checks', () => {
  const l = packed('s', [['a', 4], ['b', 2], ['pad', 2]]);

  it('accepts a matching BTF layout', () => {
    expect(compareLayout(l, { size: 8, members: [{ name: 'a', offset: 0, size: 4 }, { name: 'b', offset: 4, size: 2 }, { name: 'pad', offset: 6, size: 2 }] })).toEqual([]);
  });

  it('reports size, offset and missing-field mismatches', () => {
    const p = compareLayout(l, { size: 12, members: [{ name: 'a', offset: 0, size: 8 }] });
    expect(p).toEqual(['size 12 != 8', 'field a at 0/8, expected 0/4', 'field b missing', 'field pad missing']);
    expect(() => assertLayout(l, null)).toThrow(LayoutMismatchError);
  });

  it('encodes service keys in network order with the slot in host order', () => {
    const b = Buffer.alloc(12);
    serviceKeyCodec.encode({ address: 0x0a600001, port: 80, proto: 6, slot: 2 }, b, 0);
    expect([...b]).toEqual([10, 96, 0, 1, 0, 80, 2, 0, 6, 0, 0, 0]);
    expect(serviceKeyCodec.decode(b, 0)).toEqual({ address: 0x0a600001, port: 80, proto: 6, slot: 2 });
    const v = { backendId: 7, revNatId: 3, affinityTimeout: 60, count: 4, flags: 1 };
    const vb = Buffer.alloc(16);
    serviceValueCodec.encode(v, vb, 0);
    expect(serviceValueCodec.decode(vb, 0)).toEqual(v);
  });
});

describe('IdAllocator', () => {
  it('hands out the lowest free ids and respects reserved ones', () => {
    const a = new IdAllocator();
    a.reserve(3);
    expect([a.allocate(), a.allocate(), a.allocate()].sort()).toEqual([1, 2, 4]);
    a.release(2);
    expect(a.allocate()).toBe(2);
    expect(a.size).toBe(4);
  });
});

describe('parseIpv4', () => {
  it('parses dotted quads and rejects everything else', async () => {
    const { parseIpv4 } = await import('../../src/dataplane/ip.js');
    expect(parseIpv4('10.96.0.1')).toBe(0x0a600001);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('0.0.0.0')).toBe(0);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', 'a.b.c.d', '1.2.3.4 ', 'fd00::1']) {
      expect(parseIpv4(bad)).toBe(-1);
    }
  });
});
