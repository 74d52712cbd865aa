import { describe, expect, it } from 'vitest';
import { matchesSelector, selectorKey } from '../../src/policy/selectors.js';

const labels = { app: 'web', tier: 'front', env: 'prod' };

describe('matchesSelector', () => {
  it('an empty selector matches every label set, including none', () => {
    expect(matchesSelector({}, labels)).toBe(true);
    expect(matchesSelector({}, undefined)).toBe(true);
    expect(matchesSelector({ matchLabels: {}, matchExpressions: [] }, {})).toBe(true);
  });

  it('matchLabels requires every pair', () => {
    expect(matchesSelector({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { app: 'web', tier: 'back' } }, labels)).toBe(false);
    expect(matchesSelector({ matchLabels: { app: 'web' } }, {})).toBe(false);
  });

  it('In / NotIn / Exists / DoesNotExist', () => {
    const m = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', key: string, values?: string[]) =>
      matchesSelector({ matchExpressions: [{ key, operator, values }] }, labels);
    expect(m('In', 'env', ['prod', 'dev'])).toBe(true);
    expect(m('In', 'env', ['dev'])).toBe(false);
    expect(m('In', 'missing', ['x'])).toBe(false);
    expect(m('NotIn', 'env', ['dev'])).toBe(true);
    expect(m('NotIn', 'env', ['prod'])).toBe(false);
    expect(m('NotIn', 'missing', ['x'])).toBe(true); // absent key satisfies NotIn
    expect(m('Exists', 'tier')).toBe(true);
    expect(m('Exists', 'missing')).toBe(false);
    expect(m('DoesNotExist', 'missing')).toBe(true);
    expect(m('DoesNotExist', 'tier')).toBe(false);
  });

  it('matchLabels and matchExpressions are ANDed', () => {
    const sel = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['prod'] }] };
    expect(matchesSelector(sel, labels)).toBe(false);
    expect(matchesSelector(sel, { app: 'web', env: 'dev' })).toBe(true);
  });

  it('an unknown operator selects nothing', () => {
    expect(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'Bogus' as 'In', values: ['web'] }] }, labels)).toBe(false);
  });

  it('selectorKey ignores ordering and tells absent from empty', () => {
    expect(selectorKey({ matchLabels: { a: '1', b: '2' } })).toBe(selectorKey({ matchLabels: { b: '2', a: '1' } }));
    expect(selectorKey(undefined)).not.toBe(selectorKey({}));
    expect(selectorKey({ matchExpressions: [{ key: 'k', operator: 'In', values: ['b', 'a'] }] })).toBe(
      selectorKey({ matchExpressions: [{ key: 'k', operator: 'In', values: ['a', 'b'] }] }),
    );
  });
});
