// Strategic merge patch: JSON merge patch plus schema-driven list merging
// (lists of objects merged by key, scalar sets unioned) and the $patch,
// $retainKeys, $deleteFromPrimitiveList and $setElementOrder directives.
import { any, type Schema } from '../schema.js';
import { clone, isPlainObject, PatchError } from './errors.js';

type Obj = Record<string, unknown>;

const DELETE_FROM = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

function field(schema: Schema, key: string): Schema {
  if (schema.t === 'object') return schema.props[key] ?? any;
  if (schema.t === 'map') return schema.values;
  return any;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isPlainObject(x) && x.$patch !== undefined && Object.keys(x).length === 1)).map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(DELETE_FROM) || k.startsWith(SET_ORDER)) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function mergeValue(orig: unknown, patch: unknown, schema: Schema): unknown {
  if (isPlainObject(patch)) {
    if (schema.t === 'array') throw new PatchError('cannot merge an object into a list');
    return mergeObject(isPlainObject(orig) ? orig : undefined, patch, schema);
  }
  if (Array.isArray(patch)) {
    if (schema.t === 'array' && Array.isArray(orig)) {
      if (schema.list === 'map' && schema.keys?.length) return mergeKeyedList(orig, patch, schema.keys[0], schema.items);
      if (schema.list === 'set') return mergeSet(orig, patch);
    }
    return stripDirectives(patch);
  }
  return patch;
}

function mergeSet(orig: unknown[], patch: unknown[]): unknown[] {
  const out = [...orig];
  for (const p of patch) if (!out.some((o) => JSON.stringify(o) === JSON.stringify(p))) out.push(p);
  return out;
}

function mergeKeyedList(orig: unknown[], patch: unknown[], key: string, itemSchema: Schema): unknown[] {
  if (patch.some((p) => isPlainObject(p) && p.$patch === 'replace' && Object.keys(p).length === 1)) {
    return stripDirectives(patch) as unknown[];
  }
  const out = clone(orig);
  for (const p of patch) {
    if (!isPlainObject(p)) {
      out.push(p);
      continue;
    }
    if (!(key in p)) throw new PatchError(`map: ${JSON.stringify(p)} does not contain declared merge key: ${key}`);
    const idx = out.findIndex((o) => isPlainObject(o) && JSON.stringify(o[key]) === JSON.stringify(p[key]));
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = mergeObject(out[idx] as Obj, p, itemSchema);
    else out.push(mergeObject(undefined, p, itemSchema));
  }
  return out;
}

function reorder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const id = (v: unknown) => JSON.stringify(key && isPlainObject(v) ? v[key] : v);
  const pos = new Map(order.map((o, i) => [id(o), i]));
  return list
    .map((v, i) => ({ v, i, p: pos.get(id(v)) }))
    .sort((a, b) => (a.p ?? order.length + a.i) - (b.p ?? order.length + b.i))
    .map((x) => x.v);
}

function mergeObject(orig: Obj | undefined, patch: Obj, schema: Schema): Obj | undefined {
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch) as Obj;
  if (directive === 'delete') return undefined;
  if (directive !== undefined) throw new PatchError(`unknown patch type: ${JSON.stringify(directive)}`);
  let out: Obj = orig ? clone(orig) : {};
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new PatchError('$retainKeys must be a list');
    const keep = new Set([...retain.map(String), ...Object.keys(patch)]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  const orders: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys') continue;
    if (k.startsWith(DELETE_FROM)) {
      const name = k.slice(DELETE_FROM.length);
      if (!Array.isArray(v)) throw new PatchError(`${k} must be a list`);
      const cur = out[name];
      if (Array.isArray(cur)) out[name] = cur.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      continue;
    }
    if (k.startsWith(SET_ORDER)) {
      if (!Array.isArray(v)) throw new PatchError(`${k} must be a list`);
      orders.push([k.slice(SET_ORDER.length), v]);
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const merged = mergeValue(out[k], v, field(schema, k));
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  for (const [name, order] of orders) {
    const cur = out[name];
    const sub = field(schema, name);
    if (Array.isArray(cur)) out[name] = reorder(cur, order, sub.t === 'array' ? sub.keys?.[0] : undefined);
  }
  return out;
}

/** Applies a strategic merge patch to a copy of original, using the object's schema for list semantics. */
export function applyStrategicPatch(original: unknown, patch: unknown, schema: Schema): unknown {
  if (!isPlainObject(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  return mergeObject(isPlainObject(original) ? original : {}, patch, schema) ?? {};
}
