// Compiled matchers for label selectors, node selector terms and
// tolerations, each with a canonical key so equal selectors share indexes.
import type { LabelSelector, Node, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from './types.js';

export type Labels = Record<string, string> | undefined;

/** A label selector compiled once; key is equal for semantically equal selectors. */
export interface Selector {
  readonly key: string;
  matches(labels: Labels): boolean;
}

const nothing: Selector = { key: '<nothing>', matches: () => false };
const everything: Selector = { key: '<everything>', matches: () => true };

type Check = (labels: Labels) => boolean;

function requirementCheck(key: string, op: string, values: string[] | undefined): Check {
  const set = new Set(values ?? []);
  switch (op) {
    case 'In':
      if (set.size === 1) {
        const only = [...set][0];
        return (l) => l !== undefined && l[key] === only;
      }
      return (l) => l !== undefined && l[key] !== undefined && set.has(l[key]);
    case 'NotIn':
      return (l) => l === undefined || l[key] === undefined || !set.has(l[key]);
    case 'Exists':
      return (l) => l !== undefined && l[key] !== undefined;
    case 'DoesNotExist':
      return (l) => l === undefined || l[key] === undefined;
    case 'Gt':
    case 'Lt': {
      const bound = values && values.length === 1 && /^-?\d+$/.test(values[0]) ? Number(values[0]) : NaN;
      return (l) => {
        const v = l?.[key];
        if (v === undefined || !/^-?\d+$/.test(v) || Number.isNaN(bound)) return false;
        return op === 'Gt' ? Number(v) > bound : Number(v) < bound;
      };
    }
    default:
      return () => false;
  }
}

function allOf(checks: Check[]): Check {
  if (checks.length === 1) return checks[0];
  return (l) => {
    for (const c of checks) if (!c(l)) return false;
    return true;
  };
}

/** Compiles a metav1.LabelSelector; null/undefined selects nothing, {} selects everything. */
export function compileLabelSelector(sel: LabelSelector | null | undefined): Selector {
  if (!sel) return nothing;
  const parts: string[] = [];
  const checks: Check[] = [];
  const ml = sel.matchLabels ?? {};
  for (const k of Object.keys(ml).sort()) {
    parts.push(`${k}=${ml[k]}`);
    checks.push(requirementCheck(k, 'In', [ml[k]]));
  }
  const exprs = [...(sel.matchExpressions ?? [])].map((e) => ({ ...e, values: [...(e.values ?? [])].sort() }));
  exprs.sort((a, b) => (a.key + a.operator < b.key + b.operator ? -1 : 1));
  for (const e of exprs) {
    parts.push(`${e.key} ${e.operator} (${e.values.join(',')})`);
    checks.push(requirementCheck(e.key, e.operator, e.values));
  }
  if (checks.length === 0) return everything;
  const check = allOf(checks);
  return { key: parts.join(';'), matches: check };
}

/** Selector from spec.nodeSelector (every label must be equal). */
export function compileMapSelector(m: Record<string, string> | undefined): Selector {
  if (!m || Object.keys(m).length === 0) return everything;
  return compileLabelSelector({ matchLabels: m });
}

/** A node selector term: all expressions on labels and all fields (metadata.name) must match. */
export interface NodeTerm {
  matches(node: Node): boolean;
  /** Node names the term can match when it pins metadata.name In [...]; undefined when unrestricted. */
  names?: Set<string>;
}

function fieldCheck(r: NodeSelectorRequirement): (node: Node) => boolean {
  if (r.key !== 'metadata.name') return () => false;
  const check = requirementCheck('v', r.operator, r.values);
  return (node) => check({ v: node.metadata.name });
}

/** Compiles one nodeSelectorTerm; an empty term matches no node. */
export function compileNodeTerm(t: NodeSelectorTerm): NodeTerm {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return { matches: () => false };
  const labelChecks = exprs.map((e) => requirementCheck(e.key, e.operator, e.values));
  const fieldChecks = fields.map(fieldCheck);
  let names: Set<string> | undefined;
  for (const f of fields) {
    if (f.key === 'metadata.name' && f.operator === 'In') {
      const s = new Set(f.values ?? []);
      names = names ? new Set([...names].filter((n) => s.has(n))) : s;
    }
  }
  return {
    names,
    matches(node) {
      for (const c of labelChecks) if (!c(node.metadata.labels)) return false;
      for (const c of fieldChecks) if (!c(node)) return false;
      return true;
    },
  };
}

/** True when the toleration tolerates the taint (core/v1 ToleratesTaint). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** The first taint (of the given effects) no toleration tolerates, or undefined. */
export function firstUntolerated(taints: Taint[] | undefined, tolerations: Toleration[], effects: (t: Taint) => boolean): Taint | undefined {
  if (!taints) return undefined;
  outer: for (const taint of taints) {
    if (!effects(taint)) continue;
    for (const t of tolerations) if (tolerates(t, taint)) continue outer;
    return taint;
  }
  return undefined;
}
