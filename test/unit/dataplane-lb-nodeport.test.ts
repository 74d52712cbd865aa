// NodePort frontend expansion (per node IP + the uplink wildcard), the
// Node InternalIP list, and the node's NodePort settings checks.
import { describe, expect, it } from 'vitest';
import type { EndpointSliceShape, ServiceShape } from '../../src/dataplane/lb-model.js';
import {
  DEFAULT_NODEPORT_RANGE, DEFAULT_SNAT_RANGE, NodePortConfigError, nodeInternalIPs, nodePortFrontends,
  NODEPORT_WILDCARD, resolveNodePortSettings,
} from '../../src/dataplane/lb-nodeport.js';

const svc = (spec: Partial<NonNullable<ServiceShape['spec']>>, annotations?: Record<string, string>): ServiceShape => ({
  metadata: { name: 'web', namespace: 'ns', annotations },
  spec: {
    type: 'NodePort',
    clusterIP: '10.96.0.5',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }],
    ...spec,
  },
});

const slices: EndpointSliceShape[] = [{
  metadata: { name: 'web-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: [
    { addresses: ['10.240.1.10'], nodeName: 'n1', conditions: { ready: true } },
    { addresses: ['10.240.2.10'], nodeName: 'n2', conditions: { ready: true } },
    { addresses: ['10.240.1.11'], nodeName: 'n1', conditions: { ready: false, serving: true, terminating: true } },
  ],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' }],
}];

const scope = { node: 'n1', nodeIPs: ['10.239.0.2', '10.239.0.3'] };
const ips = (bs: { ip: string }[]) => bs.map((b) => b.ip);

describe('nodePortFrontends', () => {
  it('gives every node IP a frontend with all backends and adds the uplink wildcard per port', () => {
    const fs = nodePortFrontends(svc({}), slices, scope);
    expect(fs.map((f) => `${f.vip}:${f.port}/${f.proto}`)).toEqual([
      '10.239.0.2:30080/6', '10.239.0.3:30080/6', '0.0.0.0:30080/6',
      '10.239.0.2:30053/17', '10.239.0.3:30053/17', '0.0.0.0:30053/17',
    ]);
    for (const f of fs) {
      expect(ips(f.active)).toEqual(['10.240.1.10', '10.240.2.10']);
      expect(ips(f.draining)).toEqual(['10.240.1.11']);
      expect(f.service).toBe('ns/web');
    }
    expect(fs.filter((f) => f.nodePort).map((f) => [f.vip, f.nodePort])).toEqual([
      [NODEPORT_WILDCARD, 'Cluster'], [NODEPORT_WILDCARD, 'Cluster'],
    ]);
    expect(fs.filter((f) => f.vip !== NODEPORT_WILDCARD).every((f) => f.nodePort === undefined)).toBe(true);
  });

  it('externalTrafficPolicy Local keeps only this node\'s endpoints on the wildcard, all on the node IPs', () => {
    const fs = nodePortFrontends(svc({ externalTrafficPolicy: 'Local' }), slices, scope);
    const wild = fs.find((f) => f.vip === NODEPORT_WILDCARD && f.proto === 6)!;
    expect(wild.nodePort).toBe('Local');
    expect(ips(wild.active)).toEqual(['10.240.1.10']);
    expect(ips(wild.draining)).toEqual(['10.240.1.11']);
    expect(ips(fs.find((f) => f.vip === '10.239.0.3' && f.proto === 6)!.active)).toEqual(['10.240.1.10', '10.240.2.10']);
    const onN3 = nodePortFrontends(svc({ externalTrafficPolicy: 'Local' }), slices, { ...scope, node: 'n3' });
    expect(onN3.find((f) => f.vip === NODEPORT_WILDCARD)!.active).toEqual([]);
  });

  it('LoadBalancer Services have NodePorts too; ClusterIP ones and ports without nodePort have none', () => {
    expect(nodePortFrontends(svc({ type: 'LoadBalancer' }), slices, scope)).toHaveLength(6);
    expect(nodePortFrontends(svc({ type: 'ClusterIP' }), slices, scope)).toEqual([]);
    expect(nodePortFrontends(svc({ type: undefined }), slices, scope)).toEqual([]);
    const partial = svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    expect(nodePortFrontends(partial, slices, scope).map((f) => f.port)).toEqual([30080, 30080, 30080]);
  });

  it('carries the Service\'s algorithm and session affinity', () => {
    const fs = nodePortFrontends(svc({ sessionAffinity: 'ClientIP' }, { 'service.ebbflow.io/lb-algorithm': 'maglev' }), slices, scope);
    expect(fs.every((f) => f.algorithm === 'maglev' && f.affinityTimeout === 10800)).toBe(true);
  });
});

describe('nodeInternalIPs', () => {
  it('collects IPv4 InternalIPs of all nodes, sorted and deduplicated', () => {
    expect(nodeInternalIPs([
      { metadata: { name: 'b' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.3' }, { type: 'Hostname', address: 'b' }] } },
      { metadata: { name: 'a' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'InternalIP', address: 'fd00::2' }] } },
      { metadata: { name: 'c' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'ExternalIP', address: '1.2.3.4' }] } },
      { metadata: { name: 'd' } },
    ])).toEqual(['10.0.0.2', '10.0.0.3']);
  });
});

describe('resolveNodePortSettings', () => {
  it('fills the Kubernetes NodePort range and a SNAT range above the ephemeral ports', () => {
    expect(resolveNodePortSettings({ nodeIP: '10.239.0.2' })).toEqual({
      nodeIP: '10.239.0.2', portRange: DEFAULT_NODEPORT_RANGE, snatPortRange: DEFAULT_SNAT_RANGE,
    });
    expect(DEFAULT_SNAT_RANGE.min).toBeGreaterThan(60999);
  });

  it('refuses bad addresses, bad ranges and a SNAT range overlapping the NodePorts', () => {
    expect(() => resolveNodePortSettings({ nodeIP: 'eth0' })).toThrow(NodePortConfigError);
    expect(() => resolveNodePortSettings({ nodeIP: '0.0.0.0' })).toThrow(/unicast/);
    expect(() => resolveNodePortSettings({ nodeIP: '10.0.0.1', portRange: { min: 40000, max: 30000 } })).toThrow(/port range/);
    expect(() => resolveNodePortSettings({ nodeIP: '10.0.0.1', snatPortRange: { min: 32000, max: 40000 } })).toThrow(/overlaps/);
    expect(() => resolveNodePortSettings({ nodeIP: '10.0.0.1', snatPortRange: { min: 0, max: 10 } })).toThrow(NodePortConfigError);
  });
});
