import { describe, expect, it } from 'vitest';
import { fieldValue, fromLabelSelector, parseFieldSelector, parseLabelSelector } from '../../src/api/selectors.js';

function sel(s: string) {
  const r = parseLabelSelector(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'example.com/team': 'a' };
  it('matches equality and inequality', () => {
    expect(sel('app=web').matches(labels)).toBe(true);
    expect(sel('app==web,tier=front').matches(labels)).toBe(true);
    expect(sel('app!=web').matches(labels)).toBe(false);
    expect(sel('missing!=x').matches(labels)).toBe(true);
    expect(sel('').matches({})).toBe(true);
  });
  it('matches set-based requirements', () => {
    expect(sel('app in (web, api)').matches(labels)).toBe(true);
    expect(sel('app notin (web)').matches(labels)).toBe(false);
    expect(sel('tier,!missing').matches(labels)).toBe(true);
    expect(sel('!tier').matches(labels)).toBe(false);
    expect(sel('example.com/team in (a),app=web').matches(labels)).toBe(true);
    expect(sel('env notin (prod)').matches(labels)).toBe(true);
  });
  it('rejects malformed selectors with an error value', () => {
    for (const bad of ['app in (a', 'a=b=c', 'in ()', 'x in ()', '-bad=1', 'a=b,,c=d', 'key=val ue']) {
      expect(parseLabelSelector(bad).ok, bad).toBe(false);
    }
  });
  it('converts LabelSelector objects', () => {
    const r = fromLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }, { key: 'gone', operator: 'DoesNotExist' }] });
    expect(r.ok && r.value.matches(labels)).toBe(true);
    expect(r.ok && r.value.matches({ app: 'web', tier: 'db' })).toBe(false);
    const empty = fromLabelSelector({});
    expect(empty.ok && empty.value.matches({})).toBe(true);
    const nil = fromLabelSelector(undefined);
    expect(nil.ok && nil.value.matches({ a: 'b' })).toBe(false);
    expect(fromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }).ok).toBe(false);
    expect(fromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' as 'In' }] }).ok).toBe(false);
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'p1', namespace: 'default' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  it('matches = and != on dotted paths', () => {
    const r = parseFieldSelector('metadata.name=p1,status.phase!=Pending');
    expect(r.ok && r.value.matches((f) => fieldValue(pod, f))).toBe(true);
    const r2 = parseFieldSelector('spec.nodeName==n2');
    expect(r2.ok && r2.value.matches((f) => fieldValue(pod, f))).toBe(false);
    const r3 = parseFieldSelector('spec.nodeName=');
    expect(r3.ok && r3.value.matches((f) => fieldValue({ spec: {} }, f))).toBe(true);
  });
  it('rejects garbage', () => {
    expect(parseFieldSelector('metadata.name').ok).toBe(false);
  });
});
