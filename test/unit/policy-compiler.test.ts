import { describe, expect, it } from 'vitest';
import { compilePolicies, effectivePolicyTypes, type PolicyEntry } from '../../src/policy/compiler.js';
import { CIDR_IDENTITY_MIN, HeldIdentities, IDENTITY_WORLD } from '../../src/policy/identity.js';
import { Ipcache } from '../../src/policy/ipcache.js';
import type { NetworkPolicy } from '../../src/policy/types.js';
import { policyUpdate } from '../../src/policy/update.js';
import { baseCluster, makePod, POLICY_CASES } from '../helpers/policy-cases.js';

function compileCase(caseName: string, extra: NetworkPolicy[] = []) {
  const c = POLICY_CASES.find((x) => x.name === caseName);
  if (!c) throw new Error(`no case ${caseName}`);
  const base = baseCluster();
  const state = { ...base, pods: [...base.pods, ...(c.extraPods ?? [])], policies: [...c.policies, ...extra] };
  return compilePolicies(state, new HeldIdentities());
}

const only = (es: readonly PolicyEntry[], dir: 'ingress' | 'egress') => es.filter((e) => e.direction === dir);

describe('compilePolicies', () => {
  it('leaves unselected pods open in both directions with no entries', () => {
    const out = compileCase('deny all ingress in x (policyTypes Ingress)');
    expect(out.endpoints.get('y/a')).toEqual({ ingressEnforced: false, egressEnforced: false, entries: [] });
    expect(out.endpoints.get('x/a')).toEqual({ ingressEnforced: true, egressEnforced: false, entries: [] });
  });

  it('gives every pod of the test model its own identity from the cluster range and an ipcache /32', () => {
    const out = compileCase('no policies: everything open');
    const ids = [...out.podIdentities.values()];
    expect(new Set(ids).size).toBe(9);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(256);
    const cache = new Ipcache(out.ipcache);
    expect(cache.lookup('10.0.2.3')).toBe(out.podIdentities.get('y/c'));
    expect(cache.lookup('1.1.1.1')).toBe(IDENTITY_WORLD);
  });

  it('pods with equal labels in one namespace share an identity', () => {
    const out = compileCase('pods sharing labels share the identity and the outcome');
    expect(out.podIdentities.get('x/a-twin')).toBe(out.podIdentities.get('x/a'));
    expect(out.podIdentities.get('y/b-twin')).toBe(out.podIdentities.get('y/b'));
    expect(out.podIdentities.get('y/a')).not.toBe(out.podIdentities.get('x/a'));
  });

  it('compiles SCTP ports (proto 132)', () => {
    const out = compileCase('SCTP only: no TCP or UDP traffic');
    expect(out.endpoints.get('x/a')!.entries).toEqual([{ direction: 'ingress', identity: 0, proto: 132, portStart: 80, portEnd: 80 }]);
  });

  it('resolves ingress named ports against the selected pod', () => {
    const out = compileCase('named port serve-80-tcp on ingress');
    expect(out.endpoints.get('x/a')!.entries).toEqual([{ direction: 'ingress', identity: 0, proto: 6, portStart: 80, portEnd: 80 }]);
  });

  it('resolves egress named ports per destination identity', () => {
    const out = compileCase('egress named port serve-80-tcp to namespace y');
    const ys = ['y/a', 'y/b', 'y/c'].map((k) => out.podIdentities.get(k)!).sort((a, b) => a - b);
    expect(out.endpoints.get('x/b')!.entries).toEqual(ys.map((identity) => ({ direction: 'egress', identity, proto: 6, portStart: 80, portEnd: 80 })));
    // A named port "to anyone" cannot cover addresses outside the cluster.
    const any = compileCase('egress named port serve-81-udp to anyone');
    const es = any.endpoints.get('x/a')!.entries;
    expect(es).toHaveLength(9);
    expect(es.every((e) => e.identity >= 256 && e.proto === 17 && e.portStart === 81)).toBe(true);
  });

  it('keeps endPort ranges as ranges', () => {
    const out = compileCase('endPort range TCP 81-9000 excludes 80');
    expect(out.endpoints.get('x/a')!.entries).toEqual([{ direction: 'ingress', identity: 0, proto: 6, portStart: 81, portEnd: 9000 }]);
  });

  it('gives ipBlock CIDRs and except holes CIDR identities and allows only the holes-free part', () => {
    const out = compileCase('ipBlock 10.0.0.0/16 except namespace y');
    const block = out.cidrIdentities.get('10.0.0.0/16')!;
    const hole = out.cidrIdentities.get('10.0.2.0/24')!;
    expect(block).toBeGreaterThanOrEqual(CIDR_IDENTITY_MIN);
    expect(hole).toBeGreaterThanOrEqual(CIDR_IDENTITY_MIN);
    const cache = new Ipcache(out.ipcache);
    expect(cache.lookup('10.0.9.9')).toBe(block);
    expect(cache.lookup('10.0.2.200')).toBe(hole);
    expect(cache.lookup('10.0.2.1')).toBe(out.podIdentities.get('y/a'));
    const allowed = new Set(out.endpoints.get('x/a')!.entries.map((e) => e.identity));
    expect(allowed.has(block)).toBe(true);
    expect(allowed.has(hole)).toBe(false);
    expect(allowed.has(IDENTITY_WORLD)).toBe(false);
    for (const p of ['x/b', 'x/c', 'z/a', 'z/b', 'z/c']) expect(allowed.has(out.podIdentities.get(p)!)).toBe(true);
    for (const p of ['y/a', 'y/b', 'y/c']) expect(allowed.has(out.podIdentities.get(p)!)).toBe(false);
  });

  it('lets a pod /32 win over an equal ipBlock prefix in the ipcache', () => {
    const out = compileCase('ipBlock single pod /32 (z/b)');
    expect(out.cidrIdentities.has('10.0.3.2/32')).toBe(false);
    expect(out.ipcache.filter((e) => e.cidr === '10.0.3.2/32')).toEqual([{ cidr: '10.0.3.2/32', identity: out.podIdentities.get('z/b') }]);
  });

  it('fails closed when pods of one identity disagree about an ipBlock', () => {
    const base = baseCluster();
    const twin = makePod('z', 'b-twin', { pod: 'b' }, '10.9.0.1'); // same identity as z/b, outside the block
    const pol: NetworkPolicy = { metadata: { name: 'p', namespace: 'x' }, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16' } }] }] } };
    const out = compilePolicies({ ...base, pods: [...base.pods, twin], policies: [pol] }, new HeldIdentities());
    const allowed = new Set(out.endpoints.get('x/a')!.entries.map((e) => e.identity));
    expect(allowed.has(out.podIdentities.get('z/b')!)).toBe(false);
    expect(allowed.has(out.podIdentities.get('z/a')!)).toBe(true);
  });

  it('applies policyTypes defaulting', () => {
    const p = (spec: NetworkPolicy['spec']): NetworkPolicy => ({ metadata: { name: 'n', namespace: 'x' }, spec });
    expect(effectivePolicyTypes(p({ podSelector: {} }))).toEqual(['Ingress']);
    expect(effectivePolicyTypes(p({ podSelector: {}, egress: [] }))).toEqual(['Ingress']);
    expect(effectivePolicyTypes(p({ podSelector: {}, egress: [{}] }))).toEqual(['Ingress', 'Egress']);
    expect(effectivePolicyTypes(p({ podSelector: {}, policyTypes: ['Egress'], ingress: [{}] }))).toEqual(['Egress']);
    const out = compileCase('egress rules imply policyTypes [Ingress, Egress]');
    const xa = out.endpoints.get('x/a')!;
    expect([xa.ingressEnforced, xa.egressEnforced]).toEqual([true, true]);
    expect(only(xa.entries, 'ingress')).toEqual([]);
    expect(only(xa.entries, 'egress')).toHaveLength(3);
  });

  it('deduplicates and sorts entries across policies', () => {
    const out = compileCase('deny all + allow all ingress in x: union allows');
    expect(out.endpoints.get('x/b')!.entries).toEqual([{ direction: 'ingress', identity: 0, proto: 0, portStart: 0, portEnd: 0 }]);
    const twice = compileCase('x/a ingress TCP 80 only', POLICY_CASES.find((c) => c.name === 'x/a ingress TCP 80 only')!.policies);
    expect(twice.endpoints.get('x/a')!.entries).toHaveLength(1);
  });

  it('compiles only the endpoints it is asked for', () => {
    const base = baseCluster();
    const out = compilePolicies({ ...base, policies: [] }, new HeldIdentities(), { endpoint: (p) => p.metadata.namespace === 'y' });
    expect([...out.endpoints.keys()].sort()).toEqual(['y/a', 'y/b', 'y/c']);
    expect(out.podIdentities.size).toBe(9); // peers still need every identity
  });
});

describe('policyUpdate', () => {
  it('touches only endpoints whose policy changed', () => {
    const ids = new HeldIdentities();
    const base = baseCluster();
    const deny = (n: string): NetworkPolicy => ({ metadata: { name: 'd', namespace: n }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    const before = compilePolicies({ ...base, policies: [deny('x')] }, ids);
    const allowB: NetworkPolicy = { metadata: { name: 'b', namespace: 'x' }, spec: { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] } };
    const after = compilePolicies({ ...base, policies: [deny('x'), allowB, deny('z')] }, ids);
    const up = policyUpdate(before.endpoints, after.endpoints);
    expect(up.map((u) => u.endpoint)).toEqual(['x/a', 'z/a', 'z/b', 'z/c']);
    expect(up[0]).toEqual({
      endpoint: 'x/a',
      kind: 'changed',
      ingressEnforced: true,
      egressEnforced: false,
      upserts: [{ direction: 'ingress', identity: after.podIdentities.get('x/b'), proto: 0, portStart: 0, portEnd: 0 }],
      deletes: [],
    });
    expect(up[1]).toMatchObject({ endpoint: 'z/a', ingressEnforced: true, upserts: [], deletes: [] });
    expect(policyUpdate(after.endpoints, after.endpoints)).toEqual([]);
  });

  it('diffs hand-built, unsorted entry lists too', () => {
    const a: PolicyEntry = { direction: 'ingress', identity: 300, proto: 6, portStart: 80, portEnd: 80 };
    const b: PolicyEntry = { direction: 'egress', identity: 0, proto: 0, portStart: 0, portEnd: 0 };
    const c: PolicyEntry = { direction: 'ingress', identity: 301, proto: 17, portStart: 53, portEnd: 53 };
    const flags = { ingressEnforced: true, egressEnforced: true };
    const up = policyUpdate(new Map([['e', { ...flags, entries: [b, a] }]]), new Map([['e', { ...flags, entries: [c, a] }]]));
    expect(up).toEqual([{ endpoint: 'e', kind: 'changed', ...flags, upserts: [c], deletes: [b] }]);
  });

  it('reports endpoints that appear and disappear', () => {
    const ids = new HeldIdentities();
    const base = baseCluster();
    const before = compilePolicies({ ...base, policies: [] }, ids);
    const after = compilePolicies({ ...base, pods: base.pods.filter((p) => p.metadata.name !== 'c'), policies: [] }, ids);
    const up = policyUpdate(before.endpoints, after.endpoints);
    expect(up.map((u) => [u.endpoint, u.kind])).toEqual([['x/c', 'removed'], ['y/c', 'removed'], ['z/c', 'removed']]);
    expect(policyUpdate(after.endpoints, before.endpoints).every((u) => u.kind === 'added')).toBe(true);
  });
});

describe('documented approximations', () => {
  it('egress named ports allow the union when pods of one identity number a port differently', () => {
    // y/b-alt has y/b's labels (so its identity) but serves "serve-80-tcp" on 8080.
    const base = baseCluster();
    const alt = makePod('y', 'b-alt', { pod: 'b' }, '10.0.2.9');
    alt.spec.containers[0].ports = [{ name: 'serve-80-tcp', containerPort: 8080, protocol: 'TCP' }];
    const pol: NetworkPolicy = { metadata: { name: 'p', namespace: 'x' }, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] } };
    const out = compilePolicies({ ...base, pods: [...base.pods, alt], policies: [pol] }, new HeldIdentities());
    const yb = out.podIdentities.get('y/b')!;
    const ports = out.endpoints.get('x/a')!.entries.filter((e) => e.identity === yb).map((e) => e.portStart);
    expect(ports).toEqual([80, 8080]);
  });
});
