import { describe, expect, it } from 'vitest';
import { CLUSTER_IDENTITY_MIN } from '../../src/policy/identity.js';
import { MemoryIdentityStore, StoreIdentityAllocator } from '../../src/policy/identity-store.js';

const keys = Array.from({ length: 20 }, (_, i) => `k8s:namespace=ns${i % 4};k8s:pod.app=app${i}`);

describe('StoreIdentityAllocator', () => {
  it('agents racing for the same label sets agree on every number', async () => {
    let givenBack = 0;
    const store = new (class extends MemoryIdentityStore {
      override async deleteIfValue(key: string, value: string): Promise<boolean> {
        const ok = await super.deleteIfValue(key, value);
        if (ok) givenBack++;
        return ok;
      }
    })();
    const agents = [0, 1, 2].map(() => new StoreIdentityAllocator(store));
    // Each agent walks the keys in a different order, all at once.
    const results = await Promise.all(
      agents.map((a, n) => Promise.all((n === 1 ? [...keys].reverse() : keys).map(async (k) => [k, await a.acquire(k)] as const))),
    );
    const maps = results.map((r) => new Map(r));
    for (const k of keys) expect(new Set(maps.map((m) => m.get(k))).size).toBe(1);
    const ids = keys.map((k) => maps[0].get(k)!);
    expect(new Set(ids).size).toBe(keys.length);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(CLUSTER_IDENTITY_MIN);
    // Some agents lost a race (claimed a number, found the label set bound
    // to another) and handed the number back: one id object per label set.
    expect(givenBack).toBeGreaterThan(0);
    expect([...store.data.keys()].filter((k) => k.includes('/ids/')).length).toBe(keys.length);
  });

  it('a restarted agent loads the same numbers', async () => {
    const store = new MemoryIdentityStore();
    const a = new StoreIdentityAllocator(store);
    for (const k of keys) await a.acquire(k);
    const b = new StoreIdentityAllocator(store);
    expect(await b.load()).toEqual(a.list());
    expect(await b.acquire(keys[3])).toBe(a.lookup(keys[3]));
    const fresh = await b.acquire('k8s:namespace=new');
    expect(a.list().map((x) => x.id)).not.toContain(fresh);
  });

  it('counts references locally and shares one store round per key', async () => {
    const store = new MemoryIdentityStore();
    const a = new StoreIdentityAllocator(store);
    const [x, y] = await Promise.all([a.acquire('k'), a.acquire('k')]);
    expect(x).toBe(y);
    expect(await a.release('k')).toBe(false);
    expect(await a.release('k')).toBe(true);
    expect(a.lookup('k')).toBeUndefined();
    expect(await a.acquire('k')).toBe(x); // the store still binds it
  });
});
