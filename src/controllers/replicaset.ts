// ReplicaSet controller: keeps the number of active pods a ReplicaSet
// controls equal to spec.replicas (creating in slow-start batches, deleting
// the least useful pods first), adopts matching orphans, releases pods
// whose labels no longer match, and reports status.
import type { Pod } from '../api/core.js';
import type { ReplicaSet } from '../api/apps.js';
import type { KubeObject } from '../api/meta.js';
import { fromLabelSelector } from '../api/selectors.js';
import { objectKey, ownerUidIndex, splitKey, type Indexer } from '../client/cache.js';
import { isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { controllerRef, createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { Expectations } from './expectations.js';
import { isPodActive, isPodAvailable, isPodReady, rankForDeletion } from './pods.js';

/** Most pods created or deleted in one sync, as upstream's burstReplicas. */
const BURST = 500;
const SLOW_START_INITIAL = 1;
export const OWNER_INDEX = 'ownerUid';

/** Creates up to count items with fn in batches of 1, 2, 4, ...; stops at the first failing batch. Returns successes. */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ ok: number; error?: unknown }> {
  let remaining = count;
  let ok = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const good = results.filter((r) => r.status === 'fulfilled').length;
    ok += good;
    remaining -= batch;
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) return { ok, error: bad.reason };
  }
  return { ok };
}

/** The pod a ReplicaSet (or any controller) creates from its template. */
export function podFromTemplate(owner: KubeObject, template: ReplicaSet['spec']['template'], kind: string, apiVersion: string): Pod {
  const md = template?.metadata ?? {};
  return {
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(md.labels ?? {}) },
      ...(md.annotations ? { annotations: { ...md.annotations } } : {}),
      ...(md.finalizers ? { finalizers: [...md.finalizers] } : {}),
      ownerReferences: [{ apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(template!.spec),
  };
}

/** Pods a selector-based controller owns in its namespace: controlled by uid, or orphans it may adopt. */
export function claimCandidates(pods: Indexer<Pod>, owner: KubeObject): { owned: Pod[]; orphans: Pod[] } {
  const owned = pods.byIndex(OWNER_INDEX, owner.metadata.uid!).filter((p) => controllerRef(p)?.uid === owner.metadata.uid);
  const orphans = pods.byNamespace(owner.metadata.namespace!).filter((p) => !controllerRef(p));
  return { owned, orphans };
}

export async function start(ctx: ControllerContext): Promise<Handle> {
  const rsInf = ctx.informers.get<ReplicaSet>(resources.replicasets);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  podInf.store.addIndex(OWNER_INDEX, ownerUidIndex);
  const expectations = new Expectations(ctx.clock);
  const loop = createLoop(ctx, 'replicaset', reconcile);
  const { queue } = loop;

  const ownerKeyOf = (p: Pod) => {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = rsInf.store.getBy(p.metadata.namespace, ref.name);
    return rs && rs.metadata.uid === ref.uid ? objectKey(rs) : undefined;
  };
  const matchingSets = (p: Pod) =>
    rsInf.store.byNamespace(p.metadata.namespace!).filter((rs) => {
      const sel = fromLabelSelector(rs.spec.selector);
      return sel.ok && sel.value.matches(p.metadata.labels);
    });
  const podChanged = (p: Pod) => {
    const k = ownerKeyOf(p);
    if (k) queue.add(k);
    else if (!controllerRef(p)) for (const rs of matchingSets(p)) queue.add(objectKey(rs));
  };

  rsInf.on({
    add: (rs) => queue.add(objectKey(rs)),
    update: (_, rs) => queue.add(objectKey(rs)),
    delete: (rs) => {
      expectations.forget(objectKey(rs));
      queue.add(objectKey(rs));
    },
  });
  podInf.on({
    add(p) {
      const k = ownerKeyOf(p);
      if (k) expectations.creationObserved(k);
      if (p.metadata.deletionTimestamp && k) expectations.deletionObserved(k, objectKey(p));
      podChanged(p);
    },
    update(old, p) {
      const k = ownerKeyOf(p);
      if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp && k) expectations.deletionObserved(k, objectKey(p));
      // A label or owner change may move the pod between sets: tell the old owner too.
      const oldKey = ownerKeyOf(old);
      if (oldKey && oldKey !== k) queue.add(oldKey);
      podChanged(p);
    },
    delete(p) {
      const k = ownerKeyOf(p);
      if (k) expectations.deletionObserved(k, objectKey(p));
      podChanged(p);
    },
  });

  async function claim(rs: ReplicaSet): Promise<Pod[]> {
    const sel = fromLabelSelector(rs.spec.selector);
    if (!sel.ok) return [];
    const { owned, orphans } = claimCandidates(podInf.store, rs);
    const result: Pod[] = [];
    for (const p of owned) {
      if (sel.value.matches(p.metadata.labels)) {
        result.push(p);
        continue;
      }
      // Release: labels changed so the pod no longer belongs here.
      if (rs.metadata.deletionTimestamp) continue;
      const refs = (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
      await ctx.client.patch(resources.pods, p.metadata.namespace, p.metadata.name!, { metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: p.metadata.resourceVersion } }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
    if (rs.metadata.deletionTimestamp) return result;
    for (const p of orphans) {
      if (!sel.value.matches(p.metadata.labels) || p.metadata.deletionTimestamp) continue;
      const refs = [...(p.metadata.ownerReferences ?? []), { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }];
      try {
        result.push(await ctx.client.patch<Pod>(resources.pods, p.metadata.namespace, p.metadata.name!, { metadata: { ownerReferences: refs, resourceVersion: p.metadata.resourceVersion } }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return result;
  }

  async function manage(rs: ReplicaSet, key: string, active: Pod[]): Promise<void> {
    const want = rs.spec.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, BURST);
      expectations.expect(key, n, []);
      const pod = podFromTemplate(rs, rs.spec.template, 'ReplicaSet', 'apps/v1');
      const res = await slowStartBatch(n, SLOW_START_INITIAL, async () => {
        try {
          await ctx.client.create<Pod>(resources.pods, rs.metadata.namespace, structuredClone(pod));
        } catch (err) {
          expectations.creationObserved(key);
          throw err;
        }
      });
      // Batches never started will not be observed either.
      for (let i = res.ok + (res.error ? 1 : 0); i < n; i++) expectations.creationObserved(key);
      if (res.error) {
        ctx.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${String((res.error as Error).message ?? res.error)}`);
        throw res.error;
      }
      ctx.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created ${res.ok} pod(s)`);
    } else if (diff > 0) {
      const victims = rankForDeletion(active).slice(0, Math.min(diff, BURST));
      expectations.expect(key, 0, victims.map((p) => objectKey(p)));
      const results = await Promise.allSettled(victims.map((p) => ctx.client.delete(resources.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } })));
      results.forEach((r, i) => {
        if (r.status === 'rejected') expectations.deletionObserved(key, objectKey(victims[i]));
      });
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !isNotFound(r.reason));
      ctx.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted ${victims.length} pod(s)`);
      if (failed) throw failed.reason;
    }
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = rsInf.store.getBy(namespace, name);
    if (!cached) {
      expectations.forget(key);
      return;
    }
    const rs = cached;
    const pods = await claim(rs);
    const active = pods.filter(isPodActive);
    if (expectations.satisfied(key) && !rs.metadata.deletionTimestamp) await manage(rs, key, active);
    return updateStatus(rs, active);
  }

  async function updateStatus(rs: ReplicaSet, active: Pod[]): Promise<ReconcileResult> {
    const now = ctx.clock.now();
    const minReady = rs.spec.minReadySeconds ?? 0;
    const tmplLabels = rs.spec.template?.metadata?.labels ?? {};
    const status = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => Object.entries(tmplLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: rs.metadata.generation ?? 0,
      ...(rs.status?.conditions?.length ? { conditions: rs.status.conditions } : {}),
    };
    const cur = rs.status ?? { replicas: 0 };
    const same = (['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'] as const).every((f) => (cur[f] ?? 0) === status[f]);
    if (!same) await ctx.client.update<ReplicaSet>(resources.replicasets, { ...rs, status }, 'status');
    // A ready pod becomes available later without any event: look again then.
    if (minReady > 0 && status.readyReplicas > status.availableReplicas) return { requeueAfterMs: minReady * 1000 };
  }

  return loop.run([rsInf, podInf]);
}
