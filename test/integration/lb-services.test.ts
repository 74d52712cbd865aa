// Service load balancing through the real eBPF dataplane: a client pod and
// three backend pods in network namespaces, socket-level LB (client in the
// LB cgroup) and tc-level LB (client outside it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, readCounter } from '../../src/dataplane/maps/metrics.js';
import { CT_TUPLE_F_REPLY, CT_TUPLE_F_SERVICE } from '../../src/dataplane/maps/conntrack.js';
import { BACKENDS, createLbLab, service, slice, type LbLab } from '../../src/demo/lab.js';

const root = process.getuid?.() === 0;
if (!root) console.log('lb-services: skipped, needs root for namespaces and BPF');

describe.skipIf(!root)('service load balancing', () => {
  let fx: LbLab;
  const VIP = '10.96.0.10';
  const all = () => BACKENDS.map((b) => ({ ip: fx.ip(b) }));

  beforeAll(async () => {
    fx = await createLbLab({ prefix: 'ebft-lb' });
    await fx.table.fullSync([service('web', VIP)], [slice('web', all())]);
  }, 60_000);

  afterAll(async () => {
    await fx?.teardown();
  });

  for (const socketLb of [true, false]) {
    const path = socketLb ? 'socket' : 'tc';

    it(`${path} path: TCP to the VIP reaches every backend, roughly evenly, and the app sees the VIP`, async () => {
      const r = await fx.client('tcp', VIP, 80, 60, socketLb);
      expect(r.errors).toEqual({});
      expect(r.ok).toBe(60);
      for (const b of BACKENDS) expect(r.backends[b] ?? 0).toBeGreaterThanOrEqual(8);
      expect(Object.keys(r.peers)).toEqual([`${VIP}:80`]);
    });

    it(`${path} path: UDP to the VIP reaches every backend and replies come from the VIP`, async () => {
      const r = await fx.client('udp', VIP, 53, 45, socketLb);
      expect(r.errors).toEqual({});
      expect(r.ok).toBe(45);
      for (const b of BACKENDS) expect(r.backends[b] ?? 0).toBeGreaterThanOrEqual(5);
      expect(Object.keys(r.peers)).toEqual([`${VIP}:53`]);
      const c = await fx.client('udp-connected', VIP, 53, 30, socketLb);
      expect(c.errors).toEqual({});
      expect(c.ok).toBe(30);
      expect(Object.keys(c.backends).length).toBeGreaterThanOrEqual(2);
    });
  }

  it('counts socket translations and tc conntrack entries in the maps', async () => {
    const before = readCounter(fx.dp.metrics, METRIC.sockTranslate).packets;
    await fx.client('tcp', VIP, 80, 5, true);
    expect(readCounter(fx.dp.metrics, METRIC.sockTranslate).packets - before).toBe(5n);
    const tcBefore = readCounter(fx.dp.metrics, METRIC.tcTranslateNew).packets;
    await fx.client('tcp', VIP, 80, 3, false);
    expect(readCounter(fx.dp.metrics, METRIC.tcTranslateNew).packets - tcBefore).toBe(3n);
    const ct = fx.dp.conntrack.entries();
    expect(ct.some(([k]) => k.dport === 80 && k.flags === CT_TUPLE_F_SERVICE)).toBe(true);
    expect(ct.some(([k]) => k.sport === 8080 && k.flags === (CT_TUPLE_F_SERVICE | CT_TUPLE_F_REPLY))).toBe(true);
  });

  it('sessionAffinity ClientIP keeps a client on one backend on both paths', async () => {
    const aff = '10.96.0.11';
    fx.table.setService(service('sticky', aff, { sessionAffinity: 'ClientIP' }));
    fx.table.setEndpointSlice(slice('sticky', all()));
    await fx.table.flush();
    for (const socketLb of [true, false]) {
      const r = await fx.client('tcp', aff, 80, 20, socketLb);
      expect(r.ok).toBe(20);
      expect(Object.keys(r.backends)).toHaveLength(1);
    }
  });

  it('Maglev services spread flows over all backends', async () => {
    const mag = '10.96.0.12';
    fx.table.setService(service('mag', mag, {}, { 'service.ebbflow.io/lb-algorithm': 'maglev' }));
    fx.table.setEndpointSlice(slice('mag', all()));
    await fx.table.flush();
    const tables = fx.dp.lb.maglev.entries();
    expect(tables.length).toBeGreaterThanOrEqual(2); // TCP and UDP frontends
    const ids = new Set(tables[0][1]);
    expect(ids.size).toBe(3);
    for (const socketLb of [true, false]) {
      const r = await fx.client('tcp', mag, 80, 45, socketLb);
      expect(r.ok, `socketLb=${socketLb} errors ${JSON.stringify(r)}`).toBe(45);
      expect(Object.keys(r.backends).length).toBe(3);
    }
  });

  it('a service without backends refuses at once (ECONNREFUSED) instead of timing out', async () => {
    const empty = '10.96.0.13';
    fx.table.setService(service('empty', empty));
    fx.table.setEndpointSlice(slice('empty', []));
    await fx.table.flush();
    for (const socketLb of [true, false]) {
      const t0 = Date.now();
      const r = await fx.client('tcp', empty, 80, 3, socketLb);
      expect(r.errors).toEqual({ ECONNREFUSED: 3 });
      expect(Date.now() - t0).toBeLessThan(2500);
      const u = await fx.client('udp-connected', empty, 53, 2, socketLb);
      expect(u.errors).toEqual({ ECONNREFUSED: 2 });
    }
  });

  for (const socketLb of [true, false]) {
    const path = socketLb ? 'socket' : 'tc';
    it(`${path} path: a terminating backend keeps its established connection but gets no new ones; an added backend takes effect at once`, async () => {
      const vip = socketLb ? '10.96.0.14' : '10.96.0.15';
      const name = `drain-${path}`;
      fx.table.setService(service(name, vip));
      fx.table.setEndpointSlice(slice(name, [{ ip: fx.ip('be1') }]));
      await fx.table.flush();
      const held = await fx.hold(vip, 80, 2500, socketLb);
      // be1 starts terminating, be2 joins.
      fx.table.setEndpointSlice(slice(name, [{ ip: fx.ip('be1'), ready: false, serving: true, terminating: true }, { ip: fx.ip('be2') }]));
      await fx.table.flush();
      const fresh = await fx.client('tcp', vip, 80, 20, socketLb);
      expect(fresh.backends).toEqual({ be2: 20 });
      const h = await held.result;
      expect(h.errors).toEqual({});
      expect(Object.keys(h.backends)).toEqual(['be1']);
      expect(h.ok).toBeGreaterThan(20);
      // Adding be3 is visible to the very next connections.
      fx.table.setEndpointSlice(slice(name, [{ ip: fx.ip('be2') }, { ip: fx.ip('be3') }]));
      await fx.table.flush();
      const after = await fx.client('tcp', vip, 80, 30, socketLb);
      expect(Object.keys(after.backends).sort()).toEqual(['be2', 'be3']);
    });
  }

  it('full sync removes services that are gone and keeps ids of those that stay', async () => {
    const id = fx.table.backendIdOf({ ip: fx.ip('be1'), port: 8080, proto: 6 });
    await fx.table.fullSync([service('web', VIP)], [slice('web', all())]);
    expect(fx.table.stats().frontends).toBe(2);
    expect(fx.table.backendIdOf({ ip: fx.ip('be1'), port: 8080, proto: 6 })).toBe(id);
    const gone = await fx.client('tcp', '10.96.0.11', 80, 1, true);
    expect(gone.ok).toBe(0); // no longer a service: nothing routes the VIP
  });
});
