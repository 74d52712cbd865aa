// The CNI -> dataplane glue with a fake dataplane: attach on add, the local
// endpoint list policy sync consumes, detach on removal, ids from the IP.
import { describe, expect, it } from 'vitest';
import { cniDataplaneHooks, endpointIdFor } from '../../src/agent/cni-endpoints.js';
import type { CniEndpoint } from '../../src/agent/cni-server.js';

const ep = (n: number, extra: Partial<CniEndpoint> = {}): CniEndpoint => ({
  containerId: `c${n}`, ifname: 'eth0', netns: `/var/run/netns/p${n}`, podNamespace: 'ns', podName: `p${n}`,
  ip: `10.1.0.${n}`, hostIfname: `ebf${n}`, hostIfindex: 10 + n, ...extra,
});

describe('CNI dataplane hooks', () => {
  it('derives endpoint ids from the address offset in the podCIDR', () => {
    expect(endpointIdFor('10.1.0.0/24', '10.1.0.7')).toBe(7);
    expect(endpointIdFor('10.1.0.0/16', '10.1.2.1')).toBe(513);
    expect(() => endpointIdFor('10.1.0.0/24', '10.1.1.7')).toThrow(RangeError);
    expect(() => endpointIdFor('10.1.0.0/24', '10.1.0.255')).toThrow(RangeError);
  });

  it('attaches, lists, detaches, and reports every change', async () => {
    const calls: string[] = [];
    const changes: string[][] = [];
    const hooks = cniDataplaneHooks({
      hostNetns: '/var/run/netns/node',
      podCIDR: '10.1.0.0/24',
      dataplane: {
        attachEndpoint: async (t) => { calls.push(`attach ${t.netns} ${t.ifname}`); return { ifindex: 100 + Number(t.ifname.slice(3)) }; },
        detachEndpoint: async (t) => {
          calls.push(`detach ${t.ifname}`);
          if (t.ifname === 'ebf3') throw Object.assign(new Error('gone'), { code: 'ENODEV' });
          if (t.ifname === 'ebf4') throw Object.assign(new Error('weird'), { code: 'EPERM' });
        },
      },
      onChange: (l) => { changes.push(l.map((x) => x.pod)); },
    });
    await hooks.onEndpointAdded(ep(2));
    await hooks.onEndpointAdded(ep(1));
    expect(hooks.local()).toEqual([
      { pod: 'ns/p1', ip: '10.1.0.1', ifindex: 101, endpointId: 1 },
      { pod: 'ns/p2', ip: '10.1.0.2', ifindex: 102, endpointId: 2 },
    ]);
    await hooks.onEndpointRemoved(ep(2));
    await hooks.onEndpointRemoved(ep(1, { hostIfindex: 0 }));
    expect(calls).toEqual(['attach /var/run/netns/node ebf2', 'attach /var/run/netns/node ebf1', 'detach ebf2']);
    expect(changes).toEqual([['ns/p2'], ['ns/p1', 'ns/p2'], ['ns/p1'], []]);
    await hooks.restore([ep(3), ep(4)]);
    expect(hooks.local().map((l) => l.pod)).toEqual(['ns/p3', 'ns/p4']);
    await hooks.onEndpointRemoved(ep(3));
    await expect(hooks.onEndpointRemoved(ep(4))).rejects.toThrow('weird');
  });
});
