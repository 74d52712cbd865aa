// Server-side apply and managedFields bookkeeping: who owns which fields,
// conflict detection between managers, and removal of fields a manager
// stopped applying.
import type { KubeObject, ManagedFieldsEntry } from '../meta.js';
import type { Schema } from '../schema.js';
import { clone, isPlainObject } from './errors.js';
import { fieldsOf, fromFieldsV1, keyPath, pathKey, removeAt, toFieldsV1, valueAt } from './fieldset.js';
import { applyStrategicPatch } from './strategic.js';

export interface ApplyConflict {
  manager: string;
  field: string;
}

export class ApplyConflictError extends Error {
  readonly code = 'APPLY_CONFLICT';
  constructor(readonly conflicts: ApplyConflict[]) {
    super(`Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts.map((c) => `conflict with "${c.manager}": ${c.field}`).join('; ')}`);
    this.name = 'ApplyConflictError';
  }
}

export interface ManagerRef {
  manager: string;
  operation: 'Apply' | 'Update';
  subresource?: string;
  apiVersion: string;
  time: string;
}

interface Owned {
  entry: ManagedFieldsEntry;
  set: Set<string>;
}

function readManaged(obj: KubeObject): Owned[] {
  return (obj.metadata.managedFields ?? []).map((e) => ({ entry: { ...e }, set: fromFieldsV1(e.fieldsV1) }));
}

function sameOwner(e: ManagedFieldsEntry, m: ManagerRef): boolean {
  return e.manager === m.manager && e.operation === m.operation && (e.subresource ?? '') === (m.subresource ?? '');
}

function writeManaged(obj: KubeObject, owned: Owned[]): void {
  const entries = owned
    .filter((o) => o.set.size > 0)
    .map((o) => {
      const e: ManagedFieldsEntry = { manager: o.entry.manager, operation: o.entry.operation, apiVersion: o.entry.apiVersion, time: o.entry.time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(o.set) };
      if (o.entry.subresource) e.subresource = o.entry.subresource;
      return e;
    });
  if (entries.length) obj.metadata.managedFields = entries;
  else delete obj.metadata.managedFields;
}

function ownerFor(owned: Owned[], m: ManagerRef): Owned {
  let o = owned.find((x) => sameOwner(x.entry, m));
  if (!o) {
    o = { entry: { manager: m.manager, operation: m.operation, subresource: m.subresource }, set: new Set() };
    owned.push(o);
  }
  o.entry.apiVersion = m.apiVersion;
  o.entry.time = m.time;
  return o;
}

function display(path: string): string {
  return (
    '.' +
    keyPath(path)
      .filter((e) => e !== '.')
      .map((e) => (e.startsWith('f:') ? e.slice(2) : `[${e.slice(2)}]`))
      .join('.')
      .replace(/\.\[/g, '[')
  );
}

/**
 * Records an update (create/PUT/non-apply PATCH) by manager: it takes ownership
 * of every field whose value changed; fields that disappeared lose all owners.
 */
export function trackUpdate(oldObj: KubeObject | undefined, newObj: KubeObject, schema: Schema, m: ManagerRef): void {
  const owned = oldObj ? readManaged(oldObj) : [];
  const statusOnly = m.subresource === 'status';
  const newFields = fieldsOf(newObj as Record<string, unknown>, schema, { onlyStatus: statusOnly });
  const oldFields = oldObj ? fieldsOf(oldObj as Record<string, unknown>, schema, { onlyStatus: statusOnly }) : new Set<string>();
  const changed = new Set<string>();
  for (const f of newFields) {
    if (!oldFields.has(f) || JSON.stringify(valueAt(newObj, keyPath(f))) !== JSON.stringify(valueAt(oldObj, keyPath(f)))) changed.add(f);
  }
  const gone = [...oldFields].filter((f) => !newFields.has(f));
  for (const o of owned) {
    for (const f of changed) o.set.delete(f);
    for (const f of gone) o.set.delete(f);
  }
  if (changed.size) {
    const me = ownerFor(owned, m);
    for (const f of changed) me.set.add(f);
  }
  writeManaged(newObj, owned);
}

/**
 * Server-side apply of `config` onto `live` (undefined when creating) by manager m.
 * Throws ApplyConflictError unless force. Returns the new object (live is not modified).
 */
export function serverSideApply(live: KubeObject | undefined, config: KubeObject, schema: Schema, m: ManagerRef, force: boolean, ignoreStatus: boolean): KubeObject {
  const base: KubeObject = live ? clone(live) : { apiVersion: config.apiVersion, kind: config.kind, metadata: {} };
  const owned = readManaged(base);
  const applied = fieldsOf(config as Record<string, unknown>, schema, { ignoreStatus });
  const conflicts: ApplyConflict[] = [];
  for (const o of owned) {
    if (sameOwner(o.entry, m)) continue;
    for (const f of applied) {
      if (!o.set.has(f) || f.endsWith('.')) continue;
      const a = valueAt(config, keyPath(f));
      const l = valueAt(base, keyPath(f));
      if (JSON.stringify(a) !== JSON.stringify(l)) {
        if (force) o.set.delete(f);
        else conflicts.push({ manager: o.entry.manager ?? '', field: display(f) });
      }
    }
  }
  if (conflicts.length) throw new ApplyConflictError(conflicts);
  const me = ownerFor(owned, m);
  const othersOwn = (f: string) => owned.some((o) => o !== me && o.set.has(f));
  for (const f of me.set) {
    if (applied.has(f) || othersOwn(f)) continue;
    // A list item is removed only when nobody owns anything inside it.
    if (f.endsWith('.')) {
      const itemPrefix = f.slice(0, -1);
      if (owned.some((o) => o !== me && [...o.set].some((x) => x.startsWith(itemPrefix)))) continue;
    }
    removeAt(base, keyPath(f));
  }
  const patch = clone(config) as Record<string, unknown>;
  delete patch.apiVersion;
  delete patch.kind;
  if (ignoreStatus) delete patch.status;
  if (isPlainObject(patch.metadata)) {
    const md = patch.metadata as Record<string, unknown>;
    for (const k of ['resourceVersion', 'uid', 'managedFields', 'creationTimestamp', 'generation']) delete md[k];
  }
  const merged = applyStrategicPatch(base, patch, schema) as KubeObject;
  merged.apiVersion = config.apiVersion ?? base.apiVersion;
  merged.kind = config.kind ?? base.kind;
  me.set = applied;
  writeManaged(merged, owned);
  return merged;
}

export { pathKey };
