// A small schema language for object shapes. One description per type drives
// strict decoding (unknown/mistyped fields), strategic-merge list keys,
// server-side-apply list types and the generated OpenAPI documents.

export type Schema =
  | { t: 'string'; enum?: string[]; format?: string }
  | { t: 'integer' }
  | { t: 'number' }
  | { t: 'boolean' }
  | { t: 'intOrString' }
  | { t: 'quantity' }
  | { t: 'any' }
  | { t: 'object'; props: Record<string, Schema>; required?: string[]; open?: boolean }
  | { t: 'map'; values: Schema }
  | { t: 'array'; items: Schema; list: 'atomic' | 'set' | 'map'; keys?: string[] };

export const str: Schema = { t: 'string' };
export const int: Schema = { t: 'integer' };
export const num: Schema = { t: 'number' };
export const bool: Schema = { t: 'boolean' };
export const intOrStr: Schema = { t: 'intOrString' };
export const quantity: Schema = { t: 'quantity' };
export const any: Schema = { t: 'any' };
export const time: Schema = { t: 'string', format: 'date-time' };
export const strMap: Schema = { t: 'map', values: str };

/** A string restricted to given values. */
export function oneOf(...values: string[]): Schema {
  return { t: 'string', enum: values };
}

/** A closed object (unknown fields are reported). */
export function obj(props: Record<string, Schema>, required?: string[]): Schema {
  return { t: 'object', props, required };
}

/** An object whose listed fields are typed but which admits others. */
export function open(props: Record<string, Schema>): Schema {
  return { t: 'object', props, open: true };
}

export function mapOf(values: Schema): Schema {
  return { t: 'map', values };
}

/** An atomic list (replaced as a whole by patches and apply). */
export function list(items: Schema): Schema {
  return { t: 'array', items, list: 'atomic' };
}

/** A list of scalars merged as a set. */
export function set(items: Schema): Schema {
  return { t: 'array', items, list: 'set' };
}

/** A list of objects merged by key (the first key is the strategic-merge key). */
export function keyed(items: Schema, ...keys: string[]): Schema {
  return { t: 'array', items, list: 'map', keys };
}

/** Path elements for field messages: `spec.containers[0].name`. */
export function joinPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${p}` : p;
  }
  return out;
}

export interface DecodeIssues {
  /** Fields not in the schema (error under Strict, warning under Warn). */
  unknown: string[];
  /** Values of the wrong JSON type (always an error). */
  mistyped: { path: string; expected: string; got: string }[];
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Walks a value against its schema, collecting unknown and mistyped fields; null is accepted anywhere. */
export function checkShape(value: unknown, schema: Schema, path: (string | number)[] = [], issues: DecodeIssues = { unknown: [], mistyped: [] }): DecodeIssues {
  if (value === null || value === undefined) return issues;
  const bad = (expected: string) => issues.mistyped.push({ path: joinPath(path), expected, got: jsonType(value) });
  switch (schema.t) {
    case 'any':
      return issues;
    case 'string':
      if (typeof value !== 'string') bad('string');
      return issues;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) bad('integer');
      return issues;
    case 'number':
      if (typeof value !== 'number') bad('number');
      return issues;
    case 'boolean':
      if (typeof value !== 'boolean') bad('boolean');
      return issues;
    case 'intOrString':
    case 'quantity':
      if (typeof value !== 'string' && !(typeof value === 'number' && (schema.t === 'quantity' || Number.isInteger(value)))) bad('integer or string');
      return issues;
    case 'map':
      if (jsonType(value) !== 'object') return bad('object'), issues;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) checkShape(v, schema.values, [...path, k], issues);
      return issues;
    case 'array':
      if (!Array.isArray(value)) return bad('array'), issues;
      value.forEach((v, i) => checkShape(v, schema.items, [...path, i], issues));
      return issues;
    case 'object': {
      if (jsonType(value) !== 'object') return bad('object'), issues;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const sub = schema.props[k];
        if (sub) checkShape(v, sub, [...path, k], issues);
        else if (!schema.open) issues.unknown.push(joinPath([...path, k]));
      }
      return issues;
    }
  }
}

/** The schema of a field path (names only; list indices are skipped), or undefined. */
export function schemaAt(schema: Schema | undefined, names: string[]): Schema | undefined {
  let cur = schema;
  for (const n of names) {
    if (!cur) return undefined;
    while (cur.t === 'array') cur = cur.items;
    if (cur.t === 'object') cur = cur.props[n] ?? (cur.open ? any : undefined);
    else if (cur.t === 'map') cur = cur.values;
    else if (cur.t === 'any') return any;
    else return undefined;
  }
  return cur;
}

/** Drops fields the schema does not declare, in place (what decoding into typed structs does). */
export function pruneUnknown(value: unknown, schema: Schema): void {
  if (value === null || typeof value !== 'object') return;
  if (schema.t === 'array' && Array.isArray(value)) {
    for (const v of value) pruneUnknown(v, schema.items);
    return;
  }
  if (Array.isArray(value)) return;
  const o = value as Record<string, unknown>;
  if (schema.t === 'map') {
    for (const v of Object.values(o)) pruneUnknown(v, schema.values);
  } else if (schema.t === 'object') {
    for (const [k, v] of Object.entries(o)) {
      const sub = schema.props[k];
      if (sub) pruneUnknown(v, sub);
      else if (!schema.open) delete o[k];
    }
  }
}
