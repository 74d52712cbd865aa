// Deployment controller: owns ReplicaSets named <deployment>-<pod-template-hash>,
// rolls from old to new with RollingUpdate (maxSurge / maxUnavailable) or
// Recreate, numbers revisions (a rollback makes the old ReplicaSet current
// again under a new revision), scales proportionally, prunes history past
// revisionHistoryLimit and reports the status and conditions
// `kubectl rollout status` reads.
import type { Deployment, ReplicaSet } from '../api/apps.js';
import type { Pod } from '../api/core.js';
import type { Condition } from '../api/meta.js';
import { fromLabelSelector } from '../api/selectors.js';
import { objectKey, ownerUidIndex, splitKey } from '../client/cache.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { controllerRef, createLoop, isoNow, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { OWNER_INDEX } from './replicaset.js';
import { canonicalJson, deploymentComplete, HASH_LABEL, newReplicasForRollingUpdate, planOldScaleDown, proportionalScale, resolveFenceposts, REVISION, revisionOf, templateHash, templateWithoutHash } from './rollout.js';

const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';

const specReplicas = (rs: ReplicaSet) => rs.spec.replicas ?? 0;
const byCreation = (a: ReplicaSet, b: ReplicaSet) => (Date.parse(a.metadata.creationTimestamp ?? '') || 0) - (Date.parse(b.metadata.creationTimestamp ?? '') || 0) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');

export async function start(ctx: ControllerContext): Promise<Handle> {
  const dInf = ctx.informers.get<Deployment>(resources.deployments);
  const rsInf = ctx.informers.get<ReplicaSet>(resources.replicasets);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  rsInf.store.addIndex(OWNER_INDEX, ownerUidIndex);
  podInf.store.addIndex(OWNER_INDEX, ownerUidIndex);
  const loop = createLoop(ctx, 'deployment', reconcile);
  const { queue } = loop;

  const ownerOfRS = (rs: ReplicaSet) => {
    const ref = controllerRef(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = dInf.store.getBy(rs.metadata.namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  };
  const rsChanged = (rs: ReplicaSet) => {
    const d = ownerOfRS(rs);
    if (d) return queue.add(objectKey(d));
    if (controllerRef(rs)) return;
    for (const d2 of dInf.store.byNamespace(rs.metadata.namespace!)) {
      const sel = fromLabelSelector(d2.spec.selector);
      if (sel.ok && sel.value.matches(rs.metadata.labels)) queue.add(objectKey(d2));
    }
  };
  dInf.on({ add: (d) => queue.add(objectKey(d)), update: (_, d) => queue.add(objectKey(d)), delete: (d) => queue.add(objectKey(d)) });
  rsInf.on({ add: rsChanged, update: (_, rs) => rsChanged(rs), delete: rsChanged });
  // Recreate waits for old pods to be gone: their deletions must wake the deployment.
  podInf.on({
    delete(p) {
      const ref = controllerRef(p);
      const rs = ref?.kind === 'ReplicaSet' ? rsInf.store.getBy(p.metadata.namespace, ref.name) : undefined;
      if (rs) rsChanged(rs);
    },
  });

  async function claim(d: Deployment): Promise<ReplicaSet[]> {
    const owned = rsInf.store.byIndex(OWNER_INDEX, d.metadata.uid!).filter((rs) => controllerRef(rs)?.uid === d.metadata.uid);
    if (d.metadata.deletionTimestamp) return owned;
    const sel = fromLabelSelector(d.spec.selector);
    if (!sel.ok) return owned;
    for (const rs of rsInf.store.byNamespace(d.metadata.namespace!)) {
      if (controllerRef(rs) || rs.metadata.deletionTimestamp || !sel.value.matches(rs.metadata.labels)) continue;
      const refs = [...(rs.metadata.ownerReferences ?? []), { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }];
      try {
        owned.push(await ctx.client.patch<ReplicaSet>(resources.replicasets, rs.metadata.namespace, rs.metadata.name!, { metadata: { ownerReferences: refs, resourceVersion: rs.metadata.resourceVersion } }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return owned;
  }

  function maxSurgeOf(d: Deployment): number {
    if (d.spec.strategy?.type === 'Recreate') return 0;
    return resolveFenceposts(d.spec.strategy?.rollingUpdate?.maxSurge, d.spec.strategy?.rollingUpdate?.maxUnavailable, d.spec.replicas ?? 1)[0];
  }
  function maxUnavailableOf(d: Deployment): number {
    if (d.spec.strategy?.type === 'Recreate') return 0;
    const want = d.spec.replicas ?? 1;
    return Math.min(want, resolveFenceposts(d.spec.strategy?.rollingUpdate?.maxSurge, d.spec.strategy?.rollingUpdate?.maxUnavailable, want)[1]);
  }

  /** Sets spec.replicas and the desired/max annotations; returns the written set. */
  async function scaleRS(d: Deployment, rs: ReplicaSet, n: number): Promise<ReplicaSet> {
    const want = d.spec.replicas ?? 1;
    const ann = { [DESIRED]: String(want), [MAX_REPLICAS]: String(want + maxSurgeOf(d)) };
    const sizeChange = specReplicas(rs) !== n;
    if (!sizeChange && rs.metadata.annotations?.[DESIRED] === ann[DESIRED] && rs.metadata.annotations?.[MAX_REPLICAS] === ann[MAX_REPLICAS]) return rs;
    const out = await ctx.client.patch<ReplicaSet>(resources.replicasets, rs.metadata.namespace, rs.metadata.name!, { metadata: { annotations: ann }, spec: { replicas: n } });
    if (sizeChange) ctx.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${n > specReplicas(rs) ? 'up' : 'down'} replica set ${rs.metadata.name} from ${specReplicas(rs)} to ${n}`);
    return out;
  }

  /** Finds (or creates) the ReplicaSet for the current template and keeps revision numbers in order. */
  async function syncRevision(d: Deployment, sets: ReplicaSet[], create: boolean): Promise<{ newRS?: ReplicaSet; old: ReplicaSet[] }> {
    const want = canonicalJson(d.spec.template);
    const hash = templateHash(d.spec.template, d.status?.collisionCount ?? 0);
    const sorted = [...sets].sort(byCreation);
    let newRS = sorted.find((rs) => rs.metadata.labels?.[HASH_LABEL] === hash && canonicalJson(templateWithoutHash(rs.spec.template)) === want) ?? sorted.find((rs) => canonicalJson(templateWithoutHash(rs.spec.template)) === want);
    const old = sorted.filter((rs) => rs !== newRS);
    const maxOld = old.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const revision = String(maxOld + 1);
    if (newRS) {
      if (revisionOf(newRS) < maxOld + 1 || !newRS.metadata.annotations?.[REVISION]) {
        newRS = await ctx.client.patch<ReplicaSet>(resources.replicasets, newRS.metadata.namespace, newRS.metadata.name!, { metadata: { annotations: { [REVISION]: revision } } });
      }
    } else if (create) {
      const desired = d.spec.replicas ?? 1;
      const allSpec = old.reduce((n, rs) => n + specReplicas(rs), 0);
      const replicas = d.spec.strategy?.type === 'Recreate' ? desired : newReplicasForRollingUpdate(desired, maxSurgeOf(d), allSpec, 0);
      const template = structuredClone(d.spec.template);
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
      const rs: ReplicaSet = {
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels: { ...(d.spec.template.metadata?.labels ?? {}), [HASH_LABEL]: hash },
          annotations: { [REVISION]: revision, [DESIRED]: String(desired), [MAX_REPLICAS]: String(desired + maxSurgeOf(d)) },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: { replicas, minReadySeconds: d.spec.minReadySeconds ?? 0, selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [HASH_LABEL]: hash } }, template },
      };
      try {
        newRS = await ctx.client.create<ReplicaSet>(resources.replicasets, d.metadata.namespace, rs);
        ctx.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} from 0 to ${replicas}`);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const existing = await ctx.client.get<ReplicaSet>(resources.replicasets, d.metadata.namespace, rs.metadata.name!);
        if (controllerRef(existing)?.uid === d.metadata.uid && canonicalJson(templateWithoutHash(existing.spec.template)) === want) newRS = existing;
        else {
          // A hash collision with a foreign or different set: bump collisionCount and retry under a new name.
          await ctx.client.update<Deployment>(resources.deployments, { ...d, status: { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 } }, 'status');
          throw err;
        }
      }
    }
    if (newRS && d.metadata.annotations?.[REVISION] !== newRS.metadata.annotations?.[REVISION]) {
      await ctx.client.patch<Deployment>(resources.deployments, d.metadata.namespace, d.metadata.name!, { metadata: { annotations: { [REVISION]: newRS.metadata.annotations?.[REVISION] } } });
    }
    return { newRS, old };
  }

  function isScalingEvent(d: Deployment, sets: ReplicaSet[]): boolean {
    const want = String(d.spec.replicas ?? 1);
    return sets.some((rs) => specReplicas(rs) > 0 && rs.metadata.annotations?.[DESIRED] !== undefined && rs.metadata.annotations[DESIRED] !== want);
  }

  /** Replicas changed without a template change: resize the active sets. */
  async function scale(d: Deployment, newRS: ReplicaSet | undefined, old: ReplicaSet[]): Promise<void> {
    const want = d.spec.replicas ?? 1;
    const all = newRS ? [newRS, ...old] : old;
    const active = all.filter((rs) => specReplicas(rs) > 0);
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? [...old].sort((a, b) => revisionOf(b) - revisionOf(a))[0];
      if (target) await scaleRS(d, target, want);
      return;
    }
    if (newRS && specReplicas(newRS) === want && (newRS.status?.availableReplicas ?? 0) >= want) {
      for (const rs of old) if (specReplicas(rs) > 0) await scaleRS(d, rs, 0);
      return;
    }
    // Newest first, so the remainder of the split favours the newest of equal sizes.
    const ordered = [...active].sort((a, b) => revisionOf(b) - revisionOf(a));
    const sizes = proportionalScale(want, want > 0 ? maxSurgeOf(d) : 0, ordered.map(specReplicas));
    for (let i = 0; i < ordered.length; i++) await scaleRS(d, ordered[i], sizes[i]);
  }

  async function rolling(d: Deployment, sets: ReplicaSet[]): Promise<ReplicaSet | undefined> {
    const { newRS: created, old } = await syncRevision(d, sets, true);
    let newRS = created!;
    const want = d.spec.replicas ?? 1;
    const surge = maxSurgeOf(d);
    const unavailable = maxUnavailableOf(d);
    if (specReplicas(newRS) > want) return scaleRS(d, newRS, want);
    const allSpec = [...old, newRS].reduce((n, rs) => n + specReplicas(rs), 0);
    const up = newReplicasForRollingUpdate(want, surge, allSpec, specReplicas(newRS));
    if (up !== specReplicas(newRS)) return scaleRS(d, newRS, up);
    newRS = await scaleRS(d, newRS, specReplicas(newRS));
    const active = old.filter((rs) => specReplicas(rs) > 0);
    const plan = planOldScaleDown(want, unavailable, active.map((rs) => ({ replicas: specReplicas(rs), available: rs.status?.availableReplicas ?? 0 })), { replicas: specReplicas(newRS), available: newRS.status?.availableReplicas ?? 0 });
    for (let i = 0; i < active.length; i++) if (plan[i] !== specReplicas(active[i])) await scaleRS(d, active[i], plan[i]);
    return newRS;
  }

  async function recreate(d: Deployment, sets: ReplicaSet[]): Promise<ReplicaSet | undefined> {
    const { newRS: existing, old } = await syncRevision(d, sets, false);
    let scaledDown = false;
    for (const rs of old) {
      if (specReplicas(rs) > 0) {
        await scaleRS(d, rs, 0);
        scaledDown = true;
      }
    }
    if (scaledDown) return existing;
    const oldUids = new Set(old.map((rs) => rs.metadata.uid));
    const oldPods = podInf.store.byNamespace(d.metadata.namespace!).filter((p) => oldUids.has(controllerRef(p)?.uid) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    if (oldPods.length) return existing;
    const { newRS } = await syncRevision(d, sets, true);
    return scaleRS(d, newRS!, d.spec.replicas ?? 1);
  }

  async function cleanup(d: Deployment, newRS: ReplicaSet | undefined, sets: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const dead = sets.filter((rs) => rs !== newRS && rs.metadata.uid !== newRS?.metadata.uid && specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp).sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of dead.slice(0, Math.max(0, dead.length - limit))) {
      await ctx.client.delete(resources.replicasets, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }

  function condition(type: string, status: Condition['status'], reason: string, message: string, prev: Condition | undefined, now: string, touched: boolean): Condition {
    const same = prev && prev.status === status && prev.reason === reason;
    return { type, status, lastUpdateTime: same && !touched ? (prev.lastUpdateTime ?? now) : now, lastTransitionTime: prev && prev.status === status ? (prev.lastTransitionTime ?? now) : now, reason, message };
  }

  async function syncStatus(d: Deployment, newRS: ReplicaSet | undefined, sets: ReplicaSet[]): Promise<ReconcileResult> {
    const cur = d.status ?? {};
    const byUid = new Map(sets.map((rs) => [rs.metadata.uid, rs]));
    if (newRS) byUid.set(newRS.metadata.uid, newRS);
    const all = [...byUid.values()];
    const want = d.spec.replicas ?? 1;
    const sum = (f: (rs: ReplicaSet) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const status: NonNullable<Deployment['status']> = {
      observedGeneration: d.metadata.generation ?? 0,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum(specReplicas) - available),
      ...(cur.collisionCount ? { collisionCount: cur.collisionCount } : {}),
    };
    const now = isoNow(ctx.clock);
    const prevOf = (t: string) => cur.conditions?.find((c) => c.type === t);
    const avail = available >= want - maxUnavailableOf(d)
      ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', prevOf('Available'), now, false)
      : condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', prevOf('Available'), now, false);
    const prevProg = prevOf('Progressing');
    const rsName = newRS?.metadata.name ?? d.metadata.name;
    const countsMoved = (['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'] as const).some((f) => (cur[f] ?? 0) !== (status[f] ?? 0)) || cur.observedGeneration !== status.observedGeneration;
    const deadline = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
    let prog: Condition;
    let requeue: number | undefined;
    if (d.spec.paused) prog = condition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', prevProg, now, false);
    else if (deploymentComplete(d, status)) prog = condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`, prevProg, now, false);
    else if (countsMoved || !prevProg || prevProg.reason === 'NewReplicaSetAvailable' || prevProg.reason === 'DeploymentPaused') {
      prog = condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`, prevProg, now, true);
      requeue = deadline;
    } else if (prevProg.reason === 'ProgressDeadlineExceeded') prog = prevProg;
    else {
      const since = Date.parse(prevProg.lastUpdateTime ?? now);
      if (ctx.clock.now() - since > deadline) prog = condition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`, prevProg, now, false);
      else {
        prog = prevProg;
        requeue = Math.max(1000, since + deadline - ctx.clock.now() + 1000);
      }
    }
    status.conditions = [avail, prog];
    const strip = (s: NonNullable<Deployment['status']>) => canonicalJson({ ...s, conditions: (s.conditions ?? []).map((c) => ({ ...c, lastUpdateTime: undefined, lastTransitionTime: undefined })) });
    const progTimeMoved = prog.lastUpdateTime !== prevProg?.lastUpdateTime && prog.reason === 'ReplicaSetUpdated' && countsMoved;
    if (strip(status) !== strip(cur) || progTimeMoved) await ctx.client.update<Deployment>(resources.deployments, { ...d, status }, 'status');
    return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const d = dInf.store.getBy(namespace, name);
    if (!d) return;
    const sel = fromLabelSelector(d.spec.selector);
    if (!sel.ok || sel.value.requirements.length === 0) {
      ctx.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      return;
    }
    const sets = await claim(d);
    if (d.metadata.deletionTimestamp) return syncStatus(d, undefined, sets);
    if (d.spec.paused || isScalingEvent(d, sets)) {
      const { newRS, old } = await syncRevision(d, sets, false);
      await scale(d, newRS, old);
      return syncStatus(d, newRS, sets);
    }
    const newRS = d.spec.strategy?.type === 'Recreate' ? await recreate(d, sets) : await rolling(d, sets);
    const result = await syncStatus(d, newRS, sets);
    const fresh = { ...d, status: { ...(d.status ?? {}) } };
    const st = { observedGeneration: d.metadata.generation, replicas: sets.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0), updatedReplicas: newRS?.status?.replicas ?? 0, availableReplicas: sets.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0) };
    if (deploymentComplete(fresh, st)) await cleanup(d, newRS, sets);
    return result;
  }

  return loop.run([dInf, rsInf, podInf]);
}
