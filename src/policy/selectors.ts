// LabelSelector matching as NetworkPolicy uses it: matchLabels and
// matchExpressions are ANDed, and an empty selector matches everything.
// Whether an absent selector means "all" or "none" depends on where it sits
// (see peer semantics in compiler.ts and model.ts), so callers decide that.
import type { LabelSelector, Labels } from './types.js';

/** True when `labels` satisfy every requirement of `sel` ({} matches all). */
export function matchesSelector(sel: LabelSelector, labels: Labels | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(l, k) || l[k] !== v) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        // An operator we do not know selects nothing: failing closed is the
        // only safe reading of a selector we cannot evaluate.
        return false;
    }
  }
  return true;
}

/** Stable string form of a selector, used to cache peer evaluations. */
export function selectorKey(sel: LabelSelector | null | undefined): string {
  if (sel == null) return '-';
  const ml = Object.entries(sel.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const me = (sel.matchExpressions ?? [])
    .map((e) => `${e.key} ${e.operator} (${[...(e.values ?? [])].sort().join(',')})`)
    .sort();
  return `{${ml.join(',')}|${me.join(',')}}`;
}
