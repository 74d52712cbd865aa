// Pod resolv.conf from dnsPolicy/dnsConfig, as the kubelet computes it.
import { describe, expect, it } from 'vitest';
import { podDnsConfig } from '../../src/kubelet/dns.js';

const cluster = { servers: ['10.96.0.10'], domain: 'cluster.local' };
const pod = (spec: Record<string, unknown> = {}, namespace = 'demo') => ({ metadata: { namespace }, spec });

describe('podDnsConfig', () => {
  it('ClusterFirst (the default) uses the cluster DNS with the Kubernetes search path and ndots:5', () => {
    expect(podDnsConfig(pod(), cluster)).toEqual({
      servers: ['10.96.0.10'], searches: ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'],
    });
  });

  it('host-network pods use the node resolver unless ClusterFirstWithHostNet; Default always does', () => {
    expect(podDnsConfig(pod({ hostNetwork: true }), cluster)).toBeUndefined();
    expect(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster)?.servers).toEqual(['10.96.0.10']);
    expect(podDnsConfig(pod({ dnsPolicy: 'Default' }), cluster)).toBeUndefined();
    expect(podDnsConfig(pod(), undefined)).toBeUndefined();
  });

  it('None is only dnsConfig; dnsConfig extends the others (dedup, limits, options by name)', () => {
    expect(podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['x.test'], options: [{ name: 'edns0' }] } }), cluster))
      .toEqual({ servers: ['1.2.3.4'], searches: ['x.test'], options: ['edns0'] });
    const merged = podDnsConfig(pod({ dnsConfig: { nameservers: ['10.96.0.10', '1.1.1.1', '2.2.2.2', '3.3.3.3'], searches: ['svc.cluster.local', 'corp.test'], options: [{ name: 'ndots', value: '2' }, { name: 'timeout', value: '1' }] } }), cluster);
    expect(merged).toEqual({
      servers: ['10.96.0.10', '1.1.1.1', '2.2.2.2'],
      searches: ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.test'],
      options: ['ndots:2', 'timeout:1'],
    });
  });
});
