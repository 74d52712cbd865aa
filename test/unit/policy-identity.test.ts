import { describe, expect, it } from 'vitest';
import {
  CIDR_IDENTITY_MIN,
  CLUSTER_IDENTITY_MIN,
  HeldIdentities,
  IdentityExhaustedError,
  identityKey,
  identityLabels,
  LocalIdentityAllocator,
  newCidrIdentityAllocator,
} from '../../src/policy/identity.js';

describe('identity keys', () => {
  it('are deterministic and independent of label order', () => {
    expect(identityKey('x', { b: '2', a: '1' }, { z: '9', pod: 'a' })).toBe(identityKey('x', { a: '1', b: '2' }, { pod: 'a', z: '9' }));
    expect(identityLabels('x', { ns: 'x' }, { pod: 'a' })).toEqual(['k8s:namespace.labels.ns=x', 'k8s:namespace=x', 'k8s:pod.pod=a']);
  });

  it('tell namespaces apart even when their labels are equal', () => {
    expect(identityKey('x', { team: 't' }, { pod: 'a' })).not.toBe(identityKey('y', { team: 't' }, { pod: 'a' }));
  });

  it('keep namespace labels and pod labels apart', () => {
    expect(identityKey('x', { app: 'web' }, {})).not.toBe(identityKey('x', {}, { app: 'web' }));
  });
});

describe('LocalIdentityAllocator', () => {
  it('allocates from 256 and reuses an identity while it is referenced', async () => {
    const a = new LocalIdentityAllocator();
    expect(await a.acquire('k1')).toBe(CLUSTER_IDENTITY_MIN);
    expect(await a.acquire('k2')).toBe(CLUSTER_IDENTITY_MIN + 1);
    expect(await a.acquire('k1')).toBe(CLUSTER_IDENTITY_MIN);
    expect(a.refs('k1')).toBe(2);
    expect(await a.release('k1')).toBe(false);
    expect(a.lookup('k1')).toBe(CLUSTER_IDENTITY_MIN);
    expect(await a.release('k1')).toBe(true);
    expect(a.lookup('k1')).toBeUndefined();
    expect(a.keyOf(CLUSTER_IDENTITY_MIN + 1)).toBe('k2');
  });

  it('does not hand a freed identity straight to the next key', () => {
    const a = new LocalIdentityAllocator();
    const first = a.acquireSync('k1');
    a.releaseSync('k1');
    expect(a.acquireSync('k2')).not.toBe(first);
  });

  it('survives a restart from its persisted list', () => {
    const a = new LocalIdentityAllocator();
    const ids = ['a', 'b', 'c'].map((k) => a.acquireSync(k));
    a.releaseSync('b');
    const b = new LocalIdentityAllocator(undefined, undefined, a.list());
    expect(b.list()).toEqual(a.list());
    expect(b.acquireSync('a')).toBe(ids[0]);
    expect(b.acquireSync('c')).toBe(ids[2]);
    const fresh = b.acquireSync('d');
    expect([ids[0], ids[2]]).not.toContain(fresh);
  });

  it('prune frees restored identities nobody took again', () => {
    const b = new LocalIdentityAllocator(undefined, undefined, [
      { id: 300, key: 'kept' },
      { id: 301, key: 'stale' },
    ]);
    expect(b.acquireSync('kept')).toBe(300);
    expect(b.prune()).toEqual(['stale']);
    expect(b.list()).toEqual([{ id: 300, key: 'kept' }]);
  });

  it('rejects a persisted list that gives one id to two keys', () => {
    expect(() => new LocalIdentityAllocator(undefined, undefined, [{ id: 300, key: 'a' }, { id: 300, key: 'b' }])).toThrow();
    expect(() => new LocalIdentityAllocator(undefined, undefined, [{ id: 5, key: 'a' }])).toThrow(RangeError);
  });

  it('reports exhaustion with a typed error', () => {
    const a = new LocalIdentityAllocator(256, 257);
    a.acquireSync('a');
    a.acquireSync('b');
    expect(() => a.acquireSync('c')).toThrow(IdentityExhaustedError);
    a.releaseSync('a');
    expect(a.acquireSync('c')).toBe(256);
  });

  it('CIDR identities come from their own range', () => {
    const c = newCidrIdentityAllocator();
    expect(c.acquireSync('10.0.0.0/8')).toBe(CIDR_IDENTITY_MIN);
  });
});

describe('HeldIdentities', () => {
  it('holds one reference per key in use and sweeps the rest', () => {
    const h = new HeldIdentities();
    const a = h.pod('a');
    h.pod('a');
    h.pod('b');
    h.cidr('10.0.0.0/8');
    expect(h.pods.refs('a')).toBe(1);
    expect(h.sweep()).toBe(0);
    expect(h.pod('a')).toBe(a);
    expect(h.sweep()).toBe(2); // b and the CIDR were not used this round
    expect(h.pods.lookup('b')).toBeUndefined();
    expect(h.cidrs.lookup('10.0.0.0/8')).toBeUndefined();
    expect(h.pods.lookup('a')).toBe(a);
  });
});
