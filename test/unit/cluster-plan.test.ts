// The local cluster's shape and the agent's node-route computation: pure
// logic that `up`, `status`, `down` and every agent must agree on.
import { describe, expect, it } from 'vitest';
import { desiredRoutes, diffRoutes } from '../../src/agent/node-routes.js';
import { fabricApiUrl, planCluster } from '../../src/cluster/plan.js';

describe('planCluster', () => {
  it('names nodes, namespaces, addresses and CIDRs deterministically', () => {
    const p = planCluster({ nodes: 3 });
    expect(p.nodes.map((n) => [n.name, n.netns, n.ip, n.podCIDR, n.cgroupParent])).toEqual([
      ['node1', 'ebbflow-node1', '10.233.0.11', '10.244.1.0/24', '/ebbflow-node1'],
      ['node2', 'ebbflow-node2', '10.233.0.12', '10.244.2.0/24', '/ebbflow-node2'],
      ['node3', 'ebbflow-node3', '10.233.0.13', '10.244.3.0/24', '/ebbflow-node3'],
    ]);
    expect(p.fabric).toEqual({ netns: 'ebbflow-fabric', bridge: 'ebf-br0', address: '10.233.0.1', prefixLen: 24 });
    expect(p.kubeconfig).toBe('/var/lib/ebbflow/kubeconfig');
    expect(fabricApiUrl(p)).toBe('https://10.233.0.1:6443');
    // Every pod CIDR is inside the cluster CIDR the server's node IPAM uses.
    expect(p.clusterCIDR).toBe('10.244.0.0/16');
    expect(planCluster({ nodes: 3 })).toEqual(p);
  });

  it('keeps two clusters apart by name', () => {
    const p = planCluster({ name: 'dev', nodes: 1, dataDir: '/tmp/x' });
    expect(p.nodes[0]).toMatchObject({ name: 'dev-node1', netns: 'ebbflow-dev-node1', dir: '/tmp/x/nodes/dev-node1' });
    expect(p.fabric.netns).toBe('ebbflow-dev-fabric');
    // Interface names fit IFNAMSIZ.
    expect(planCluster({ name: 'abcdefghijkl', nodes: 50 }).nodes.every((n) => n.fabricIf.length <= 15)).toBe(true);
  });

  it('rejects bad input with a message naming the flag', () => {
    expect(() => planCluster({ nodes: 0 })).toThrow(/--nodes 0/);
    expect(() => planCluster({ nodes: 51 })).toThrow(/--nodes/);
    expect(() => planCluster({ name: 'Bad_Name' })).toThrow(/--name/);
    expect(() => planCluster({ port: 70000 })).toThrow(/--port/);
  });
});

describe('node routes', () => {
  const node = (name: string, ip: string | undefined, cidr: string | undefined) => ({
    metadata: { name },
    spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {},
    status: { addresses: ip ? [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] : [] },
  });

  it('routes every other node\'s pod CIDR via its InternalIP, skipping self and incomplete nodes', () => {
    const nodes = [node('a', '10.0.0.1', '10.244.1.0/24'), node('b', '10.0.0.2', '10.244.2.0/24'), node('c', undefined, '10.244.3.0/24'), node('d', '10.0.0.4', undefined)];
    expect(desiredRoutes('a', nodes)).toEqual([{ dst: '10.244.2.0/24', via: '10.0.0.2' }]);
    expect(desiredRoutes('z', nodes)).toEqual([{ dst: '10.244.1.0/24', via: '10.0.0.1' }, { dst: '10.244.2.0/24', via: '10.0.0.2' }]);
  });

  it('diffs to replacements (new or moved) and removals (gone)', () => {
    const current = [{ dst: '10.244.2.0/24', via: '10.0.0.2' }, { dst: '10.244.3.0/24', via: '10.0.0.3' }, { dst: '10.244.4.0/24', via: '10.0.0.4' }];
    const desired = [{ dst: '10.244.2.0/24', via: '10.0.0.2' }, { dst: '10.244.3.0/24', via: '10.0.0.9' }, { dst: '10.244.5.0/24', via: '10.0.0.5' }];
    expect(diffRoutes(current, desired)).toEqual({
      replace: [{ dst: '10.244.3.0/24', via: '10.0.0.9' }, { dst: '10.244.5.0/24', via: '10.0.0.5' }],
      remove: [{ dst: '10.244.4.0/24', via: '10.0.0.4' }],
    });
    expect(diffRoutes(desired, desired)).toEqual({ replace: [], remove: [] });
  });
});
