// Garbage collector over ownerReferences: deletes objects whose owners are
// all gone (background propagation), deletes dependents of owners under
// foreground deletion before removing the foregroundDeletion finalizer,
// and for orphan deletion strips the owner from dependents first.
import type { KubeObject, OwnerReference } from '../api/meta.js';
import { objectKey, ownerUidIndex } from '../client/cache.js';
import { isConflict, isNotFound } from '../client/errors.js';
import type { Informer } from '../client/informer.js';
import { apiVersion, resources, type ResourceType } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';
const OWNER_UID = 'gcOwnerUid';

/** Resources whose objects may own or be owned (namespaced and cluster-scoped kinds used by workloads). */
export const GC_RESOURCES: ResourceType[] = [
  resources.pods,
  resources.replicasets,
  resources.deployments,
  resources.statefulsets,
  resources.daemonsets,
  resources.jobs,
  resources.cronjobs,
  resources.endpointslices,
  resources.endpoints,
  resources.services,
  resources.configmaps,
  resources.secrets,
  resources.serviceaccounts,
  resources.persistentvolumeclaims,
  resources.nodes,
  resources.leases,
];

export async function start(ctx: ControllerContext): Promise<Handle> {
  const informers = GC_RESOURCES.map((rt) => ctx.informers.get<KubeObject>(rt));
  const byKind = new Map(GC_RESOURCES.map((rt, i) => [`${apiVersion(rt)}/${rt.kind}`, { rt, inf: informers[i] }]));
  const byPlural = new Map(GC_RESOURCES.map((rt, i) => [`${rt.group}/${rt.plural}`, { rt, inf: informers[i] }]));
  // uid -> where the object lives, for every cached object.
  const uids = new Map<string, { rt: ResourceType; key: string }>();
  const loop = createLoop(ctx, 'garbage-collector', reconcile);
  const { queue } = loop;
  const itemKey = (rt: ResourceType, o: KubeObject) => `${rt.group}/${rt.plural}|${objectKey(o)}`;

  const dependentsOf = (uid: string) => {
    const out: { rt: ResourceType; obj: KubeObject }[] = [];
    informers.forEach((inf, i) => {
      for (const o of inf.store.byIndex(OWNER_UID, uid)) out.push({ rt: GC_RESOURCES[i], obj: o });
    });
    return out;
  };

  GC_RESOURCES.forEach((rt, i) => {
    const inf = informers[i];
    inf.store.addIndex(OWNER_UID, ownerUidIndex);
    const seen = (o: KubeObject) => {
      if (o.metadata.uid) uids.set(o.metadata.uid, { rt, key: objectKey(o) });
      const fin = o.metadata.finalizers ?? [];
      if (o.metadata.deletionTimestamp && (fin.includes(FOREGROUND) || fin.includes(ORPHAN))) queue.add(itemKey(rt, o));
      if ((o.metadata.ownerReferences ?? []).some((r) => !uids.has(r.uid) || ownerWaiting(r))) queue.add(itemKey(rt, o));
    };
    inf.on({
      add: seen,
      update: (_, o) => seen(o),
      delete(o) {
        if (o.metadata.uid) uids.delete(o.metadata.uid);
        for (const d of dependentsOf(o.metadata.uid ?? '')) queue.add(itemKey(d.rt, d.obj));
        // An owner in foreground deletion waits for this one.
        for (const r of o.metadata.ownerReferences ?? []) {
          const at = uids.get(r.uid);
          if (at) queue.add(`${at.rt.group}/${at.rt.plural}|${at.key}`);
        }
      },
    });
  });

  function cachedOwner(r: OwnerReference): KubeObject | undefined {
    const at = uids.get(r.uid);
    if (!at) return undefined;
    return byPlural.get(`${at.rt.group}/${at.rt.plural}`)?.inf.store.get(at.key);
  }
  function ownerWaiting(r: OwnerReference): boolean {
    return !!cachedOwner(r)?.metadata.finalizers?.includes(FOREGROUND) && !!cachedOwner(r)?.metadata.deletionTimestamp;
  }

  /** Whether the owner exists with the referenced uid: cache first, then the API (the cache may lag a fresh owner). */
  async function ownerState(r: OwnerReference, namespace: string | undefined): Promise<'absent' | 'alive' | 'waiting'> {
    const c = cachedOwner(r);
    if (c) return c.metadata.deletionTimestamp && c.metadata.finalizers?.includes(FOREGROUND) ? 'waiting' : 'alive';
    const where = byKind.get(`${r.apiVersion}/${r.kind}`);
    // An owner kind we do not know is never treated as gone.
    if (!where) return 'alive';
    try {
      const o = await ctx.client.get(where.rt, where.rt.namespaced ? namespace : undefined, r.name);
      if (o.metadata.uid !== r.uid) return 'absent';
      return o.metadata.deletionTimestamp && o.metadata.finalizers?.includes(FOREGROUND) ? 'waiting' : 'alive';
    } catch (err) {
      if (isNotFound(err)) return 'absent';
      throw err;
    }
  }

  async function removeFinalizer(rt: ResourceType, o: KubeObject, fin: string): Promise<void> {
    const rest = (o.metadata.finalizers ?? []).filter((f) => f !== fin);
    await ctx.client.patch(rt, o.metadata.namespace, o.metadata.name!, { metadata: { finalizers: rest.length ? rest : null, resourceVersion: o.metadata.resourceVersion } });
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const [res, objKey] = key.split('|');
    const where = byPlural.get(res);
    if (!where) return;
    const o = where.inf.store.get(objKey);
    if (!o) return;
    const rt = where.rt;
    const fin = o.metadata.finalizers ?? [];
    try {
      if (o.metadata.deletionTimestamp && fin.includes(ORPHAN)) {
        for (const d of dependentsOf(o.metadata.uid!)) {
          const refs = (d.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== o.metadata.uid);
          await ctx.client.patch(d.rt, d.obj.metadata.namespace, d.obj.metadata.name!, { metadata: { ownerReferences: refs.length ? refs : null } }).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
        }
        await removeFinalizer(rt, o, ORPHAN);
        return;
      }
      if (o.metadata.deletionTimestamp && fin.includes(FOREGROUND)) {
        const deps = dependentsOf(o.metadata.uid!);
        for (const d of deps) {
          if (d.obj.metadata.deletionTimestamp) continue;
          await ctx.client.delete(d.rt, d.obj.metadata.namespace, d.obj.metadata.name!, { propagationPolicy: 'Foreground', preconditions: { uid: d.obj.metadata.uid } }).catch((err: unknown) => {
            if (!isNotFound(err) && !isConflict(err)) throw err;
          });
        }
        const blocking = deps.filter((d) => (d.obj.metadata.ownerReferences ?? []).some((r) => r.uid === o.metadata.uid && r.blockOwnerDeletion));
        if (blocking.length === 0) await removeFinalizer(rt, o, FOREGROUND);
        return;
      }
      const refs = o.metadata.ownerReferences ?? [];
      if (!refs.length || o.metadata.deletionTimestamp) return;
      const states = await Promise.all(refs.map((r) => ownerState(r, o.metadata.namespace)));
      const dangling = refs.filter((_, i) => states[i] === 'absent');
      const waiting = states.includes('waiting');
      const solid = states.filter((s) => s === 'alive').length;
      if (solid > 0) {
        if (dangling.length) {
          const keep = refs.filter((_, i) => states[i] !== 'absent');
          await ctx.client.patch(rt, o.metadata.namespace, o.metadata.name!, { metadata: { ownerReferences: keep, resourceVersion: o.metadata.resourceVersion } });
        }
        return;
      }
      if (!dangling.length && !waiting) return;
      await ctx.client.delete(rt, o.metadata.namespace, o.metadata.name!, { propagationPolicy: waiting ? 'Foreground' : 'Background', preconditions: { uid: o.metadata.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  return loop.run(informers as Informer<KubeObject>[]);
}
