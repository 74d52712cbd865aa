// Label selectors (equality and set-based strings, LabelSelector objects) and
// field selectors. Parsing errors are values, so the API server returns 400.
import type { LabelSelector } from './meta.js';
import { isQualifiedName, isLabelValue } from './names.js';

export type Operator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

/** A parsed selector: every requirement must hold (an empty selector matches everything). */
export interface Selector {
  requirements: Requirement[];
  matches(labels: Record<string, string> | undefined): boolean;
  /** Canonical string form. */
  toString(): string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

function makeSelector(requirements: Requirement[]): Selector {
  return {
    requirements,
    matches(labels) {
      const l = labels ?? {};
      return requirements.every((r) => {
        const has = Object.prototype.hasOwnProperty.call(l, r.key);
        const v = l[r.key];
        switch (r.op) {
          case '=':
            return has && v === r.values[0];
          case '!=':
            return !has || v !== r.values[0];
          case 'in':
            return has && r.values.includes(v);
          case 'notin':
            return !has || !r.values.includes(v);
          case 'exists':
            return has;
          case '!':
            return !has;
        }
      });
    },
    toString() {
      return requirements
        .map((r) => {
          if (r.op === 'exists') return r.key;
          if (r.op === '!') return `!${r.key}`;
          if (r.op === 'in' || r.op === 'notin') return `${r.key} ${r.op} (${r.values.join(',')})`;
          return `${r.key}${r.op}${r.values[0]}`;
        })
        .join(',');
    },
  };
}

/** Matches everything. */
export const everything: Selector = makeSelector([]);

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0 || depth > 1) return undefined;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) return undefined;
  out.push(cur);
  return out;
}

function checkKey(key: string): string | undefined {
  return isQualifiedName(key) ? undefined : `invalid label key "${key}"`;
}

function checkValue(v: string): string | undefined {
  return isLabelValue(v) ? undefined : `invalid label value: "${v}"`;
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`. */
export function parseLabelSelector(input: string): ParseResult<Selector> {
  const s = input.trim();
  if (s === '') return { ok: true, value: everything };
  const parts = splitTop(s);
  if (!parts) return { ok: false, error: `unable to parse requirement: unbalanced parentheses in "${input}"` };
  const reqs: Requirement[] = [];
  for (const raw of parts) {
    const part = raw.trim();
    if (!part) return { ok: false, error: `found empty requirement in "${input}"` };
    let m: RegExpMatchArray | null;
    let req: Requirement;
    if ((m = part.match(/^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      const values = m[3].split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '') return { ok: false, error: `for '${m[2]}' operator, values set can't be empty` };
      req = { key: m[1], op: m[2] as Operator, values };
    } else if ((m = part.match(/^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s,]*)$/))) {
      req = { key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] };
    } else if ((m = part.match(/^!\s*([^=!\s()]+)$/))) {
      req = { key: m[1], op: '!', values: [] };
    } else if ((m = part.match(/^([^=!\s()]+)$/))) {
      req = { key: m[1], op: 'exists', values: [] };
    } else {
      return { ok: false, error: `unable to parse requirement: "${part}"` };
    }
    const err = checkKey(req.key) ?? req.values.map(checkValue).find(Boolean);
    if (err) return { ok: false, error: err };
    reqs.push(req);
  }
  return { ok: true, value: makeSelector(reqs) };
}

/** Converts a LabelSelector object; a nil selector matches nothing, an empty one everything. */
export function fromLabelSelector(sel: LabelSelector | undefined | null): ParseResult<Selector> {
  if (!sel) return { ok: true, value: makeSelector([{ key: '', op: 'in', values: [] }]) };
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const ops: Record<string, Operator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };
    const op = ops[e.operator];
    if (!op) return { ok: false, error: `"${e.operator}" is not a valid label selector operator` };
    if ((op === 'in' || op === 'notin') && !e.values?.length) return { ok: false, error: `values: must be specified when operator is ${e.operator}` };
    if ((op === 'exists' || op === '!') && e.values?.length) return { ok: false, error: `values: may not be specified when operator is ${e.operator}` };
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return { ok: true, value: makeSelector(reqs) };
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
  matches(get: (field: string) => string | undefined): boolean;
}

/** Parses `metadata.name=x,status.phase!=Running` (backslash escapes `,` `=` `!`). */
export function parseFieldSelector(input: string): ParseResult<FieldSelector> {
  const reqs: FieldRequirement[] = [];
  const s = input.trim();
  if (s !== '') {
    const parts: string[] = [];
    let cur = '';
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '\\' && i + 1 < s.length) {
        cur += s[i] + s[++i];
      } else if (s[i] === ',') {
        parts.push(cur);
        cur = '';
      } else cur += s[i];
    }
    parts.push(cur);
    for (const p of parts) {
      const m = p.match(/^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/);
      if (!m) return { ok: false, error: `invalid selector: '${input}'; can't understand '${p}'` };
      reqs.push({ field: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3].replace(/\\(.)/g, '$1') });
    }
  }
  return {
    ok: true,
    value: {
      requirements: reqs,
      matches: (get) => reqs.every((r) => ((get(r.field) ?? '') === r.value) === (r.op === '=')),
    },
  };
}

/** Reads a dotted field path as the string a field selector compares against. */
export function fieldValue(obj: unknown, field: string): string | undefined {
  let cur: unknown = obj;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  if (typeof cur === 'object') return undefined;
  return String(cur);
}
