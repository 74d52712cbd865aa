// JSON patch (RFC 6902) with JSON pointers (RFC 6901).
import { clone, isPlainObject, PatchError } from './errors.js';

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(p: unknown): string[] {
  if (typeof p !== 'string') throw new PatchError('path must be a string');
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer "${p}"`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

function arrayIndex(arr: unknown[], tok: string, forAdd: boolean): number {
  if (forAdd && tok === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(tok)) throw new PatchError(`invalid array index "${tok}"`);
  const i = Number(tok);
  if (i > arr.length || (!forAdd && i >= arr.length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

/** Walks to the parent of the pointer's last token. */
function parentOf(doc: unknown, tokens: string[], path: string): unknown {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isPlainObject(cur) && t in cur) cur = cur[t];
    else throw new PatchError(`path "${path}" does not exist`);
  }
  return cur;
}

function get(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (!tokens.length) return doc;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (isPlainObject(parent) && last in parent) return parent[last];
  throw new PatchError(`path "${path}" does not exist`);
}

function add(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (!tokens.length) return value;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isPlainObject(parent)) parent[last] = value;
  else throw new PatchError(`path "${path}" does not exist`);
  return doc;
}

function remove(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (!tokens.length) throw new PatchError('cannot remove the whole document');
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isPlainObject(parent) && last in parent) delete parent[last];
  else throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
  return doc;
}

/** Applies an RFC 6902 operation list to a copy of doc. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be an array of operations');
  let out = clone(doc);
  for (const raw of patch) {
    if (!isPlainObject(raw)) throw new PatchError('each JSON patch operation must be an object');
    const op = raw as unknown as Op;
    switch (op.op) {
      case 'add':
        if (!('value' in raw)) throw new PatchError('add operation does not have a value');
        out = add(out, op.path, clone(op.value));
        break;
      case 'remove':
        out = remove(out, op.path);
        break;
      case 'replace':
        if (!('value' in raw)) throw new PatchError('replace operation does not have a value');
        get(out, op.path);
        out = op.path === '' ? clone(op.value) : add(remove(out, op.path), op.path, clone(op.value));
        break;
      case 'move': {
        const v = get(out, op.from as string);
        out = add(remove(out, op.from as string), op.path, v);
        break;
      }
      case 'copy':
        out = add(out, op.path, clone(get(out, op.from as string)));
        break;
      case 'test':
        if (!deepEqual(get(out, op.path), op.value)) throw new PatchError(`testing value ${op.path} failed`);
        break;
      default:
        throw new PatchError(`unexpected kind of operation: ${JSON.stringify(op.op)}`);
    }
  }
  return out;
}
