// A full BPF map is a clear error and a metric, not silent loss: a write
// past max_entries raises MapFullError naming the map and its capacity, and
// ebbflow_map_full_errors_total counts it per map.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointTable } from '../../src/dataplane/endpoint-table.js';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import { MapFullError, mapFullCounts } from '../../src/dataplane/typed-map.js';

const root = process.getuid?.() === 0;

describe.skipIf(!root)('full BPF maps', () => {
  let dp: Dataplane;
  const pinRoot = `/sys/fs/bpf/ebbflow/test-mapfull-${process.pid}`;
  beforeAll(async () => {
    dp = await loadDataplane({ node: 'full', pinRoot, mapSizes: { ipcache: 4, endpoints: 2 } });
  });
  afterAll(() => {
    dp?.destroy();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it('ipcache (LPM trie) beyond its size: MapFullError with the map and capacity, counted', async () => {
    const table = EndpointTable.restore({ endpoints: dp.endpoints, ipcache: dp.ipcache, policy: dp.policy });
    const before = mapFullCounts().get('ebf_ipcache_v1') ?? 0;
    const entries = new Map(Array.from({ length: 6 }, (_, i) => [`10.9.${i}.0/24`, 300 + i] as const));
    const err = await table.syncIpcache(entries).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MapFullError);
    expect((err as MapFullError).message).toMatch(/BPF map ebf_ipcache_v1 is full \(4 entries\)/);
    expect((err as MapFullError).code).toBe('EBBFLOW_MAP_FULL');
    expect(mapFullCounts().get('ebf_ipcache_v1')).toBeGreaterThan(before);
    // What fits is still written, and the map keeps working once room is made.
    expect(dp.ipcache.handle.dump().count).toBe(4);
    await table.syncIpcache(new Map([...entries].slice(0, 3)));
    expect(dp.ipcache.handle.dump().count).toBe(3);
  });

  it('a hash map beyond its size fails the same way on a single write', () => {
    const set = (i: number) => dp.endpoints.set(0x0a000001 + i, { ifindex: 1, endpointId: i, identity: 256, flags: 0, policyRev: 1 });
    set(0);
    set(1);
    expect(() => set(2)).toThrow(MapFullError);
    expect(() => set(2)).toThrow(/ebf_endpoints_v1 is full \(2 entries\)/);
  });
});
