// Host-local IPAM: addresses from the pod CIDR keyed by container+ifname,
// persisted across reopen, no reuse of a held address, exhaustion, GC.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ipam, IpamConfigError, IpamExhaustedError, parseCidr } from '../../src/agent/ipam.js';

describe('IPAM', () => {
  let dir: string;
  let stateFile: string;
  const req = (containerId: string, ifname = 'eth0') => ({ containerId, ifname, netns: `/var/run/netns/${containerId}` });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebf-ipam-'));
    stateFile = join(dir, 'state', 'ipam.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands out distinct addresses, skipping network, broadcast and reserved ones', async () => {
    const ipam = Ipam.open({ podCIDR: '10.1.0.0/29', stateFile, reserved: ['10.1.0.1'] });
    const ips: string[] = [];
    for (let i = 0; i < 5; i++) ips.push((await ipam.allocate(req(`c${i}`))).allocation.ip);
    expect(ips).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']);
    await expect(ipam.allocate(req('c5'))).rejects.toBeInstanceOf(IpamExhaustedError);
  });

  it('returns the same allocation for the same container and ifname, another for another ifname', async () => {
    const ipam = Ipam.open({ podCIDR: '10.1.0.0/24', stateFile });
    const a = await ipam.allocate(req('x'));
    const b = await ipam.allocate(req('x'));
    const c = await ipam.allocate(req('x', 'net1'));
    expect(a.created).toBe(true);
    expect(b).toEqual({ allocation: a.allocation, created: false });
    expect(c.allocation.ip).not.toBe(a.allocation.ip);
  });

  it('persists across reopen and never reuses a held address; a released one comes back only after the others', async () => {
    const one = Ipam.open({ podCIDR: '10.1.0.0/24', stateFile });
    const a = (await one.allocate(req('a'))).allocation.ip;
    const b = (await one.allocate(req('b'))).allocation.ip;
    const two = Ipam.open({ podCIDR: '10.1.0.0/24', stateFile });
    expect(two.get('a', 'eth0')?.ip).toBe(a);
    expect((await two.allocate(req('a'))).allocation.ip).toBe(a);
    const c = (await two.allocate(req('c'))).allocation.ip;
    expect([a, b]).not.toContain(c);
    expect(await two.release('b', 'eth0')).toMatchObject({ ip: b });
    expect(await two.release('b', 'eth0')).toBeUndefined();
    // Round robin: the next address after c, not b's freed one.
    const d = (await two.allocate(req('d'))).allocation.ip;
    expect(d).not.toBe(b);
    expect(Ipam.open({ podCIDR: '10.1.0.0/24', stateFile }).list().map((x) => x.containerId).sort()).toEqual(['a', 'c', 'd']);
    expect(readdirSync(join(dir, 'state'))).toEqual(['ipam.json']);
  });

  it('concurrent allocations all get distinct addresses', async () => {
    const ipam = Ipam.open({ podCIDR: '10.1.0.0/24', stateFile });
    const res = await Promise.all(Array.from({ length: 50 }, (_, i) => ipam.allocate(req(`p${i}`))));
    expect(new Set(res.map((r) => r.allocation.ip)).size).toBe(50);
    expect(Ipam.open({ podCIDR: '10.1.0.0/24', stateFile }).list()).toHaveLength(50);
  });

  it('GC releases what the runtime does not list', async () => {
    const ipam = Ipam.open({ podCIDR: '10.1.0.0/24', stateFile });
    for (const id of ['a', 'b', 'c']) await ipam.allocate(req(id));
    const released = await ipam.gc([{ containerId: 'b', ifname: 'eth0' }]);
    expect(released.map((r) => r.containerId).sort()).toEqual(['a', 'c']);
    expect(ipam.list().map((r) => r.containerId)).toEqual(['b']);
    expect(Ipam.open({ podCIDR: '10.1.0.0/24', stateFile }).list().map((r) => r.containerId)).toEqual(['b']);
  });

  it('rejects bad CIDRs and a state file of another CIDR; a missing file is an empty pool', () => {
    expect(() => parseCidr('10.1.0.1/24')).toThrow(IpamConfigError);
    expect(() => parseCidr('10.1.0.0')).toThrow(IpamConfigError);
    expect(() => parseCidr('10.1.0.0/31')).toThrow(IpamConfigError);
    expect(parseCidr('10.1.0.0/24')).toMatchObject({ size: 256, prefix: 24 });
    expect(existsSync(stateFile)).toBe(false);
    expect(Ipam.open({ podCIDR: '10.1.0.0/24', stateFile }).list()).toEqual([]);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ version: 1, podCIDR: '10.9.0.0/24', last: 0, allocations: {} }));
    expect(() => Ipam.open({ podCIDR: '10.1.0.0/24', stateFile: join(dir, 'other.json') })).toThrow(/10\.9\.0\.0\/24/);
  });
});
