// Field sets for server-side apply: the fields an object sets, as paths of
// fieldsV1 elements (f:name, k:{"key":"v"}, v:value, "."), and conversion to
// and from the fieldsV1 tree stored in metadata.managedFields.
import { any, type Schema } from '../schema.js';
import { isPlainObject } from './errors.js';

export type Path = string[];

/** Paths are stored joined with NUL so a Set can hold them. */
const SEP = '\u0000';
export const pathKey = (p: Path): string => p.join(SEP);
export const keyPath = (k: string): Path => (k === '' ? [] : k.split(SEP));

const IGNORED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName']);

function sub(schema: Schema, key: string): Schema {
  if (schema.t === 'object') return schema.props[key] ?? any;
  if (schema.t === 'map') return schema.values;
  return any;
}

function itemKey(item: Record<string, unknown>, keys: string[]): string {
  const k: Record<string, unknown> = {};
  for (const name of keys) if (item[name] !== undefined) k[name] = item[name];
  return `k:${JSON.stringify(k)}`;
}

function walk(value: unknown, schema: Schema, prefix: Path, out: Set<string>): void {
  if (isPlainObject(value) && schema.t !== 'array') {
    const entries = Object.entries(value).filter(([, v]) => v !== null && v !== undefined);
    if (!entries.length) {
      if (prefix.length) out.add(pathKey(prefix));
      return;
    }
    for (const [k, v] of entries) walk(v, sub(schema, k), [...prefix, `f:${k}`], out);
    return;
  }
  if (Array.isArray(value) && schema.t === 'array' && schema.list !== 'atomic') {
    if (schema.list === 'set') {
      for (const v of value) out.add(pathKey([...prefix, `v:${JSON.stringify(v)}`]));
      return;
    }
    for (const item of value) {
      if (!isPlainObject(item)) continue;
      const ip = [...prefix, itemKey(item, schema.keys ?? [])];
      out.add(pathKey([...ip, '.']));
      for (const [k, v] of Object.entries(item)) if (v !== null && v !== undefined) walk(v, sub(schema.items, k), [...ip, `f:${k}`], out);
    }
    return;
  }
  out.add(pathKey(prefix));
}

/** The set of field paths an object (or applied configuration) specifies. */
export function fieldsOf(obj: Record<string, unknown>, schema: Schema, opts: { ignoreStatus?: boolean; onlyStatus?: boolean } = {}): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || v === null || v === undefined) continue;
    if (k === 'status' && opts.ignoreStatus) continue;
    if (opts.onlyStatus && k !== 'status') continue;
    if (k === 'metadata' && isPlainObject(v)) {
      const m = Object.fromEntries(Object.entries(v).filter(([mk]) => !IGNORED_META.has(mk)));
      if (Object.keys(m).length) walk(m, sub(schema, 'metadata'), ['f:metadata'], out);
      continue;
    }
    walk(v, sub(schema, k), [`f:${k}`], out);
  }
  return out;
}

/** fieldsV1 tree from a set of paths. */
export function toFieldsV1(set: Set<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const k of [...set].sort()) {
    let node = root;
    for (const el of keyPath(k)) node = (node[el] ??= {}) as Record<string, unknown>;
  }
  return root;
}

/** Set of paths from a fieldsV1 tree (leaves and "." markers). */
export function fromFieldsV1(tree: unknown): Set<string> {
  const out = new Set<string>();
  const rec = (node: unknown, prefix: Path) => {
    if (!isPlainObject(node)) return;
    const keys = Object.keys(node);
    if (!keys.length && prefix.length) out.add(pathKey(prefix));
    for (const k of keys) {
      if (k === '.') out.add(pathKey([...prefix, '.']));
      else rec(node[k], [...prefix, k]);
    }
  };
  rec(tree, []);
  return out;
}

/** Resolves one path element inside a value: the child value or undefined. */
function step(cur: unknown, el: string): unknown {
  if (el.startsWith('f:')) return isPlainObject(cur) ? cur[el.slice(2)] : undefined;
  if (el.startsWith('k:') && Array.isArray(cur)) {
    const want = JSON.parse(el.slice(2)) as Record<string, unknown>;
    return cur.find((it) => isPlainObject(it) && Object.entries(want).every(([k, v]) => JSON.stringify(it[k]) === JSON.stringify(v)));
  }
  if (el.startsWith('v:') && Array.isArray(cur)) {
    const want = el.slice(2);
    return cur.find((it) => JSON.stringify(it) === want);
  }
  return undefined;
}

/** The value at a path (for "." the list item itself). */
export function valueAt(obj: unknown, path: Path): unknown {
  let cur = obj;
  for (const el of path) {
    if (el === '.') return cur;
    cur = step(cur, el);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Removes the field at a path from obj in place (no-op when absent), pruning maps it leaves empty. */
export function removeAt(obj: unknown, path: Path): void {
  const p = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  if (!p.length) return;
  const parentPath = p.slice(0, -1);
  const parent = valueAt(obj, parentPath);
  const last = p[p.length - 1];
  if (last.startsWith('f:') && isPlainObject(parent)) {
    delete parent[last.slice(2)];
    if (!Object.keys(parent).length && parentPath.length > 1 && parentPath[parentPath.length - 1].startsWith('f:')) removeAt(obj, parentPath);
  } else if (Array.isArray(parent)) {
    const item = step(parent, last);
    const i = parent.indexOf(item);
    if (i >= 0) parent.splice(i, 1);
    // An emptied list disappears, as it would from a typed object's JSON.
    if (!parent.length && parentPath.length && parentPath[parentPath.length - 1].startsWith('f:')) removeAt(obj, parentPath);
  }
}
