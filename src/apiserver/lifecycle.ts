// Deletion semantics (finalizers, graceful pod deletion, propagation policy,
// preconditions) and raw read-modify-write for subresources with their own rules.
import type { KubeObject } from '../api/meta.js';
import { clone } from '../api/patch/errors.js';
import type { ResourceInfo } from '../api/registry.js';
import { isStoreError } from '../store/errors.js';
import type { KeyValue, Store } from '../store/types.js';
import { asApiError, errors } from './errors.js';
import type { DeleteOptions, DeleteResult, Objects } from './objects.js';

const MAX_RETRIES = 8;

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function comparable(o: KubeObject): string {
  const c = clone(o);
  delete c.metadata.resourceVersion;
  delete c.metadata.managedFields;
  return JSON.stringify(c);
}

/** Deletes an object or marks it for deletion. */
/** DELETE: finalizers and graceful pods get a deletionTimestamp; others go at once. */
export async function deleteObject(objects: Objects, info: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions): Promise<DeleteResult> {
  for (let i = 0; i < MAX_RETRIES; i++) {
    const found = await objects.tryGet(info, ns, name);
    if (!found) throw errors.notFound(objects.ref(info, name));
    const cur = found.obj;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) throw errors.conflict(objects.ref(info, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) throw errors.conflict(objects.ref(info, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    const next = clone(cur);
    const md = next.metadata;
    const fin = new Set(md.finalizers ?? []);
    if (opts.propagationPolicy === 'Foreground') fin.add('foregroundDeletion');
    if (opts.propagationPolicy === 'Orphan') fin.add('orphan');
    const grace = podGrace(info, cur, opts.gracePeriodSeconds);
    if (info.kind === 'Namespace' && !md.deletionTimestamp) {
      next.status = { ...((next.status as object) ?? {}), phase: 'Terminating' };
    }
    const pending = fin.size > 0 || grace > 0 || (info.kind === 'Namespace' && !finalizersDone(next));
    if (!pending) {
      if (opts.dryRun) return { object: cur, deleted: true };
      try {
        const kv = await objects.store.delete(objects.key(info, ns, name), found.rev);
        return { object: objects.decode({ ...kv, modRevision: found.rev }), deleted: true };
      } catch (err) {
        if (isStoreError(err, 'CONFLICT')) continue;
        throw asApiError(err, objects.ref(info, name));
      }
    }
    if (fin.size) md.finalizers = [...fin];
    if (!md.deletionTimestamp) {
      md.deletionTimestamp = grace > 0 ? new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : now();
      md.deletionGracePeriodSeconds = grace;
    } else if (grace < (md.deletionGracePeriodSeconds ?? 0)) {
      md.deletionGracePeriodSeconds = grace;
    }
    if (grace === 0 && fin.size === 0 && finalizersDone(next)) {
      // A shortened grace period to zero: delete now.
      if (opts.dryRun) return { object: cur, deleted: true };
      try {
        await objects.store.delete(objects.key(info, ns, name), found.rev);
        return { object: cur, deleted: true };
      } catch (err) {
        if (isStoreError(err, 'CONFLICT')) continue;
        throw asApiError(err, objects.ref(info, name));
      }
    }
    if (comparable(next) === comparable(cur)) return { object: cur, deleted: false };
    if (opts.dryRun) return { object: next, deleted: false };
    try {
      const kv = await objects.store.update(objects.key(info, ns, name), objects.encode(next), found.rev);
      next.metadata.resourceVersion = String(kv.modRevision);
      return { object: next, deleted: false };
    } catch (err) {
      if (isStoreError(err, 'CONFLICT')) continue;
      throw asApiError(err, objects.ref(info, name));
    }
  }
  throw errors.conflict(objects.ref(info, name), 'too many concurrent writers, please retry');
}

/** Read-modify-write without validation, for subresources with their own rules (binding, finalize). */
export async function mutateObject(objects: Objects, store: Store, info: ResourceInfo, ns: string | undefined, name: string, fn: (o: KubeObject) => void): Promise<KubeObject> {
  const key = objects.key(info, ns, name);
  for (let i = 0; i < MAX_RETRIES; i++) {
    let kv: KeyValue;
    try {
      kv = await store.get(key);
    } catch (err) {
      throw asApiError(err, { group: info.group, plural: info.plural, name });
    }
    const o = objects.decode(kv);
    fn(o);
    try {
      if (o.metadata.deletionTimestamp && finalizersDone(o)) {
        await store.delete(key, kv.modRevision);
        return o;
      }
      const c = { ...o, metadata: { ...o.metadata } };
      delete c.metadata.resourceVersion;
      const out = await store.update(key, JSON.stringify(c), kv.modRevision);
      o.metadata.resourceVersion = String(out.modRevision);
      return o;
    } catch (err) {
      if (isStoreError(err, 'CONFLICT')) continue;
      throw asApiError(err, { group: info.group, plural: info.plural, name });
    }
  }
  throw errors.conflict({ group: info.group, plural: info.plural, name }, 'too many concurrent writers, please retry');
}

/** Grace period for pods bound to a node; 0 for everything else. */
function podGrace(info: ResourceInfo, cur: KubeObject, requested: number | undefined): number {
  if (info.kind !== 'Pod') return 0;
  const spec = cur.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
  const phase = (cur.status as { phase?: string } | undefined)?.phase;
  if (!spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  const g = requested ?? cur.metadata.deletionGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, g);
}

export function finalizersDone(o: KubeObject): boolean {
  if (o.metadata.finalizers?.length) return false;
  if (o.kind === 'Namespace' && ((o.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length) return false;
  return true;
}

