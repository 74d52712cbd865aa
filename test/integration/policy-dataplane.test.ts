// NetworkPolicy enforcement in the tc programs with real traffic between
// pod namespaces: identities in the ipcache, allow entries per endpoint,
// conntrack letting replies through, and revision re-checks cutting
// established connections a new policy denies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointTable, type AllowRule } from '../../src/dataplane/endpoint-table.js';
import { readDropCounter } from '../../src/dataplane/maps/metrics.js';
import { createLbLab, type LbLab } from '../../src/demo/lab.js';

const root = process.getuid?.() === 0;
if (!root) console.log('policy-dataplane: skipped, needs root for namespaces and BPF');

const ID = { client: 1000, be1: 1001, be2: 1002 } as const;
const DROP_POLICY_DENIED = -140;
const tcp = (identity: number, port: number, direction: 'ingress' | 'egress' = 'ingress'): AllowRule =>
  ({ direction, identity, proto: 6, port, portPrefixBits: 16 });

describe.skipIf(!root)('NetworkPolicy in the dataplane', () => {
  let lab: LbLab;
  let eps: EndpointTable;
  const pods = ['client', 'be1', 'be2'] as const;

  async function setPolicy(pod: (typeof pods)[number], p: { ingress?: AllowRule[]; egress?: AllowRule[] }) {
    const info = lab.net.pods.find((x) => x.name === pod)!;
    await eps.setEndpoint({
      ip: info.ip, ifindex: info.hostIfIndex, endpointId: pods.indexOf(pod) + 1, identity: ID[pod],
      ingressEnforced: p.ingress !== undefined, egressEnforced: p.egress !== undefined,
      rules: [...(p.ingress ?? []), ...(p.egress ?? [])],
    });
  }

  const probe = (from: string, to: string, mode: 'tcp' | 'udp' = 'tcp', count = 2) =>
    lab.client(mode, lab.ip(to), 8080, count, false, { from, timeoutMs: 400 });

  beforeAll(async () => {
    lab = await createLbLab({ prefix: 'ebft-pol', backends: ['be1', 'be2'] });
    eps = EndpointTable.restore({ endpoints: lab.dp.endpoints, ipcache: lab.dp.ipcache, policy: lab.dp.policy });
    await eps.syncIpcache(new Map([
      ['0.0.0.0/0', 2],
      ...pods.map((p) => [`${lab.ip(p)}/32`, ID[p]] as [string, number]),
    ]));
    for (const p of pods) await setPolicy(p, {});
  }, 60_000);

  afterAll(async () => {
    await lab?.teardown();
  });

  it('lets everything through while no policy selects the pods', async () => {
    expect((await probe('client', 'be1')).ok).toBe(2);
    expect((await probe('be2', 'be1', 'udp')).ok).toBe(2);
  });

  it('ingress policy admits only the allowed identity and protocol; replies pass', async () => {
    await setPolicy('be1', { ingress: [tcp(ID.client, 8080)] });
    const dropsBefore = readDropCounter(lab.dp.metrics, DROP_POLICY_DENIED).packets;
    expect((await probe('client', 'be1')).ok).toBe(2);
    expect((await probe('be2', 'be1')).errors).toEqual({ TIMEOUT: 2 });
    expect((await probe('client', 'be1', 'udp')).errors).toEqual({ TIMEOUT: 2 });
    expect(readDropCounter(lab.dp.metrics, DROP_POLICY_DENIED).packets).toBeGreaterThan(dropsBefore);
  });

  it('egress policy limits where a pod may connect; an any-peer rule opens a port to all', async () => {
    await setPolicy('be1', {});
    await setPolicy('client', { egress: [tcp(ID.be2, 8080, 'egress')] });
    expect((await probe('client', 'be2')).ok).toBe(2);
    expect((await probe('client', 'be1')).errors).toEqual({ TIMEOUT: 2 });
    await setPolicy('client', { egress: [tcp(0, 8080, 'egress')] });
    expect((await probe('client', 'be1')).ok).toBe(2);
    await setPolicy('client', {});
  });

  it('port ranges match by prefix', async () => {
    // 8080/13 covers 8080..8087.
    await setPolicy('be1', { ingress: [{ direction: 'ingress', identity: 0, proto: 6, port: 8080, portPrefixBits: 13 }] });
    expect((await probe('client', 'be1')).ok).toBe(2);
    await setPolicy('be1', { ingress: [{ direction: 'ingress', identity: 0, proto: 6, port: 8088, portPrefixBits: 13 }] });
    expect((await probe('client', 'be1')).errors).toEqual({ TIMEOUT: 2 });
    await setPolicy('be1', {});
  });

  it('keeps an established connection through an unrelated policy change and cuts it when the new policy denies it', async () => {
    await setPolicy('be1', { ingress: [tcp(ID.client, 8080)] });
    const keep = await lab.hold(lab.ip('be1'), 8080, 1500, false);
    await new Promise((r) => setTimeout(r, 300));
    await setPolicy('be1', { ingress: [tcp(ID.client, 8080), tcp(ID.be2, 9999)] });
    const kept = await keep.result;
    expect(kept.errors).toEqual({});
    expect(kept.ok).toBeGreaterThan(20);

    const cut = await lab.hold(lab.ip('be1'), 8080, 2000, false);
    await new Promise((r) => setTimeout(r, 500));
    await setPolicy('be1', { ingress: [tcp(ID.be2, 8080)] });
    const r = await cut.result;
    // ~10 answers before the change, none after it (a line every 50 ms).
    expect(r.ok).toBeGreaterThan(3);
    expect(r.ok).toBeLessThan(20);
    await setPolicy('be1', {});
  });
});
