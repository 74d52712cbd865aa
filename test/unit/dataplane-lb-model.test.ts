import { describe, expect, it } from 'vitest';
import { backendsFor, serviceFrontends, type EndpointSliceShape } from '../../src/dataplane/lb-model.js';

const slice = (eps: EndpointSliceShape['endpoints'], ports = [{ name: 'http', port: 8080, protocol: 'TCP' }]): EndpointSliceShape => ({
  metadata: { name: 's1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: eps,
  ports,
});

describe('backendsFor', () => {
  it('uses ready endpoints for new flows and keeps terminating ones draining', () => {
    const r = backendsFor([slice([
      { addresses: ['10.0.0.1'], conditions: { ready: true } },
      { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.0.0.3'], conditions: { ready: false } },
    ])], 'http', 6);
    expect(r.active.map((b) => b.ip)).toEqual(['10.0.0.1']);
    expect(r.draining.map((b) => b.ip).sort()).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('falls back to serving terminating endpoints when none is ready', () => {
    const r = backendsFor([slice([
      { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.0.0.3'], conditions: { ready: false, serving: false, terminating: true } },
    ])], 'http', 6);
    expect(r.active.map((b) => b.ip)).toEqual(['10.0.0.2']);
    expect(r.draining.map((b) => b.ip)).toEqual(['10.0.0.3']);
  });

  it('treats missing conditions as ready, matches ports by name and protocol, skips IPv6', () => {
    const slices = [
      slice([{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }]),
      { ...slice([{ addresses: ['fd00::1'] }]), addressType: 'IPv6' },
    ];
    expect(backendsFor(slices, 'http', 6).active).toMatchObject([{ ip: '10.0.0.1', port: 8080, proto: 6 }]);
    expect(backendsFor(slices, 'dns', 17).active).toMatchObject([{ ip: '10.0.0.1', port: 53, proto: 17 }]);
    expect(backendsFor(slices, 'http', 17).active).toEqual([]);
  });
});

describe('serviceFrontends', () => {
  it('makes one frontend per ClusterIP and port, with affinity and algorithm', () => {
    const f = serviceFrontends({
      metadata: { name: 'web', namespace: 'ns', annotations: { 'service.ebbflow.io/lb-algorithm': 'maglev' } },
      spec: {
        clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], externalIPs: ['192.0.2.10'],
        ports: [{ name: 'http', port: 80 }], sessionAffinity: 'ClientIP',
      },
    }, [slice([{ addresses: ['10.0.0.1'] }])]);
    expect(f.map((x) => `${x.vip}:${x.port}`)).toEqual(['10.96.0.1:80', '192.0.2.10:80']);
    expect(f[0]).toMatchObject({ service: 'ns/web', algorithm: 'maglev', affinityTimeout: 10800, proto: 6 });
  });

  it('gives nothing for headless and ExternalName services', () => {
    expect(serviceFrontends({ metadata: { name: 'h' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } }, [])).toEqual([]);
    expect(serviceFrontends({ metadata: { name: 'e' }, spec: { type: 'ExternalName', ports: [{ port: 80 }] } }, [])).toEqual([]);
  });
});
