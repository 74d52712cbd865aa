import { describe, expect, it } from 'vitest';
import { maglevTable } from '../../src/dataplane/maglev.js';
import { MAGLEV_M } from '../../src/dataplane/maps/lb-maglev.js';

const backends = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => ({ id: from + i, name: `10.0.0.${from + i}:80/6` }));

function shares(t: Uint32Array): Map<number, number> {
  const m = new Map<number, number>();
  for (const id of t) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

describe('maglevTable', () => {
  it('fills every slot and spreads slots evenly', () => {
    const t = maglevTable(backends(10));
    expect(t.length).toBe(MAGLEV_M);
    expect(t.includes(0)).toBe(false);
    for (const n of shares(t).values()) expect(Math.abs(n - MAGLEV_M / 10)).toBeLessThanOrEqual(2);
  });

  it('does not depend on the order backends are given in', () => {
    const b = backends(7);
    expect(maglevTable([...b].reverse())).toEqual(maglevTable(b));
  });

  it('moves few slots when one backend is removed', () => {
    const before = maglevTable(backends(10));
    const after = maglevTable(backends(10).filter((b) => b.id !== 4));
    let moved = 0;
    for (let i = 0; i < MAGLEV_M; i++) if (before[i] !== 4 && before[i] !== after[i]) moved++;
    // Only the removed backend's slots must move; Maglev moves few others.
    expect(moved / MAGLEV_M).toBeLessThan(0.1);
    expect(after.includes(4)).toBe(false);
  });

  it('honours weights', () => {
    const t = maglevTable([{ id: 1, name: 'a', weight: 3 }, { id: 2, name: 'b', weight: 1 }]);
    const s = shares(t);
    expect(s.get(1)! / s.get(2)!).toBeGreaterThan(2.5);
  });

  it('gives an all-zero table for no backends', () => {
    expect(maglevTable([]).every((x) => x === 0)).toBe(true);
  });
});
