// The cluster DNS zone and the wire answers: names, types, negative answers,
// truncation, and what is refused.
import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { zoneEndpoints, zoneServices } from '../../src/dns/index.js';
import { answer } from '../../src/dns/server.js';
import { Zone } from '../../src/dns/zone.js';

function zone(): Zone {
  const z = new Zone('cluster.local');
  z.load(
    zoneServices([
      { metadata: { name: 'web', namespace: 'demo' }, spec: { clusterIP: '10.96.0.2', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
      { metadata: { name: 'db', namespace: 'demo' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } },
      { metadata: { name: 'ext', namespace: 'demo' }, spec: { type: 'ExternalName', externalName: 'example.org.' } },
    ]),
    zoneEndpoints([
      {
        metadata: { name: 'db-x', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'db' } },
        endpoints: [
          { addresses: ['10.244.1.5'], hostname: 'db-0', conditions: { ready: true } },
          { addresses: ['10.244.2.7'], hostname: 'db-1', conditions: { ready: true } },
          { addresses: ['10.244.2.9'], hostname: 'db-2', conditions: { ready: false } },
        ],
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
    ]),
  );
  return z;
}

describe('cluster DNS zone', () => {
  const z = zone();
  it('answers ClusterIP Services, headless Services (ready endpoints) and their hostnames', () => {
    expect(z.lookup('web.demo.svc.cluster.local', 'A')).toEqual({ rcode: 'NOERROR', answers: [{ type: 'A', name: 'web.demo.svc.cluster.local', data: '10.96.0.2' }] });
    expect(z.lookup('WEB.Demo.svc.cluster.local.', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [{ data: '10.96.0.2' }] });
    const db = z.lookup('db.demo.svc.cluster.local', 'A');
    expect(db.rcode === 'NOERROR' && db.answers.map((a) => a.data)).toEqual(['10.244.1.5', '10.244.2.7']);
    expect(z.lookup('db-1.db.demo.svc.cluster.local', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [{ data: '10.244.2.7' }] });
    expect(z.lookup('db-2.db.demo.svc.cluster.local', 'A')).toEqual({ rcode: 'NXDOMAIN' });
  });

  it('answers SRV per named port, pod names, ExternalName CNAMEs', () => {
    expect(z.lookup('_http._tcp.web.demo.svc.cluster.local', 'SRV')).toMatchObject({ rcode: 'NOERROR', answers: [{ type: 'SRV', data: { port: 80, target: 'web.demo.svc.cluster.local' } }] });
    const srv = z.lookup('_pg._tcp.db.demo.svc.cluster.local', 'SRV');
    expect(srv.rcode === 'NOERROR' && srv.answers.map((a) => (a.data as { target: string }).target)).toEqual(['db-0.db.demo.svc.cluster.local', 'db-1.db.demo.svc.cluster.local']);
    expect(z.lookup('10-244-1-5.demo.pod.cluster.local', 'A')).toMatchObject({ answers: [{ data: '10.244.1.5' }] });
    expect(z.lookup('10-244-1-500.demo.pod.cluster.local', 'A')).toEqual({ rcode: 'NXDOMAIN' });
    expect(z.lookup('ext.demo.svc.cluster.local', 'A')).toMatchObject({ answers: [{ type: 'CNAME', data: 'example.org' }] });
  });

  it('NODATA for another type of a known name, NXDOMAIN for unknown names, REFUSED outside the domain', () => {
    expect(z.lookup('web.demo.svc.cluster.local', 'AAAA')).toEqual({ rcode: 'NOERROR', answers: [] });
    expect(z.lookup('demo.svc.cluster.local', 'A')).toEqual({ rcode: 'NOERROR', answers: [] });
    expect(z.lookup('nope.demo.svc.cluster.local', 'A')).toEqual({ rcode: 'NXDOMAIN' });
    expect(z.lookup('web.nope.svc.cluster.local', 'A')).toEqual({ rcode: 'NXDOMAIN' });
    expect(z.lookup('web.demo.cluster.local', 'A')).toEqual({ rcode: 'NXDOMAIN' });
    expect(z.lookup('example.org', 'A')).toEqual({ rcode: 'REFUSED' });
    expect(z.lookup('cluster.local.example.org', 'A')).toEqual({ rcode: 'REFUSED' });
  });
});

describe('DNS wire answers', () => {
  const z = zone();
  const ask = (name: string, type: dnsPacket.RecordType, id = 7) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });

  it('are authoritative, echo id, question and RD, and carry the records with a short TTL', () => {
    const r = dnsPacket.decode(answer(z, ask('web.demo.svc.cluster.local', 'A'))!);
    expect(r.type).toBe('response');
    expect(r.id).toBe(7);
    expect(r.flag_aa).toBe(true);
    expect(r.flag_rd).toBe(true);
    expect(r.rcode).toBe('NOERROR');
    expect(r.questions).toEqual([{ name: 'web.demo.svc.cluster.local', type: 'A', class: 'IN' }]);
    expect(r.answers).toMatchObject([{ type: 'A', data: '10.96.0.2', ttl: 5 }]);
  });

  it('give NXDOMAIN with the SOA, REFUSED outside the zone, truncate what does not fit', () => {
    const nx = dnsPacket.decode(answer(z, ask('x.demo.svc.cluster.local', 'A'))!);
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities?.[0]?.type).toBe('SOA');
    expect(dnsPacket.decode(answer(z, ask('example.org', 'A'))!).rcode).toBe('REFUSED');
    const tc = dnsPacket.decode(answer(z, ask('db.demo.svc.cluster.local', 'A'), 40)!);
    expect(tc.flag_tc).toBe(true);
    expect(tc.answers).toEqual([]);
    expect(answer(z, Buffer.from('not dns'))).toBeUndefined();
  });
});
