// StatefulSet controller: pods <name>-<ordinal> with stable hostname /
// subdomain and one PersistentVolumeClaim per volumeClaimTemplate, created
// in order and each only after its predecessors are Running and Ready
// (OrderedReady) or all at once (Parallel), removed highest ordinal first;
// RollingUpdate replaces pods from the highest ordinal down to the
// partition, one at a time; status with current/update revisions as
// `kubectl rollout status statefulset` reads it.
import type { StatefulSet } from '../api/apps.js';
import type { PersistentVolumeClaim, Pod } from '../api/core.js';
import type { KubeObject } from '../api/meta.js';
import { objectKey, ownerUidIndex, splitKey } from '../client/cache.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { controllerRef, createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { isPodAvailable, isPodReady } from './pods.js';
import { OWNER_INDEX, podFromTemplate } from './replicaset.js';
import { templateHash } from './rollout.js';

const REVISION_LABEL = 'controller-revision-hash';

/** The ordinal in "<set>-<n>", or -1 when the name is not one of the set's. */
export function ordinalOf(setName: string, podName: string): number {
  const m = new RegExp(`^${setName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(podName);
  return m ? Number(m[1]) : -1;
}

export async function start(ctx: ControllerContext): Promise<Handle> {
  const stsInf = ctx.informers.get<StatefulSet>(resources.statefulsets);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  const pvcInf = ctx.informers.get<PersistentVolumeClaim>(resources.persistentvolumeclaims);
  podInf.store.addIndex(OWNER_INDEX, ownerUidIndex);
  const loop = createLoop(ctx, 'statefulset', reconcile);
  const { queue } = loop;
  const ownerKey = (p: Pod) => {
    const ref = controllerRef(p);
    return ref?.kind === 'StatefulSet' ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  stsInf.on({ add: (x) => queue.add(objectKey(x)), update: (_, x) => queue.add(objectKey(x)) });
  const podChanged = (p: Pod) => {
    const k = ownerKey(p);
    if (k) queue.add(k);
  };
  podInf.on({ add: podChanged, update: (_, p) => podChanged(p), delete: podChanged });

  async function ensureClaims(sts: StatefulSet, podName: string): Promise<void> {
    for (const t of sts.spec.volumeClaimTemplates ?? []) {
      const claim = `${t.metadata.name}-${podName}`;
      if (pvcInf.store.getBy(sts.metadata.namespace, claim)) continue;
      const labels = { ...(sts.spec.selector.matchLabels ?? {}), ...((t.metadata.labels as Record<string, string> | undefined) ?? {}) };
      try {
        await ctx.client.create<PersistentVolumeClaim>(resources.persistentvolumeclaims, sts.metadata.namespace, { metadata: { name: claim, namespace: sts.metadata.namespace, labels }, spec: structuredClone((t as KubeObject & { spec: PersistentVolumeClaim['spec'] }).spec) });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
  }

  function newPod(sts: StatefulSet, ordinal: number, revision: string): Pod {
    const name = `${sts.metadata.name}-${ordinal}`;
    const pod = podFromTemplate(sts, sts.spec.template, 'StatefulSet', 'apps/v1');
    delete pod.metadata.generateName;
    pod.metadata.name = name;
    pod.metadata.labels = { ...pod.metadata.labels, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(ordinal), [REVISION_LABEL]: revision };
    pod.spec.hostname = name;
    if (sts.spec.serviceName) pod.spec.subdomain = sts.spec.serviceName;
    const claims = (sts.spec.volumeClaimTemplates ?? []).map((t) => ({ name: t.metadata.name!, persistentVolumeClaim: { claimName: `${t.metadata.name}-${name}` } }));
    if (claims.length) pod.spec.volumes = [...(pod.spec.volumes ?? []).filter((v) => !claims.some((c) => c.name === v.name)), ...claims] as never;
    return pod;
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const sts = stsInf.store.getBy(namespace, name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const replicas = sts.spec.replicas ?? 1;
    const updateRevision = `${name}-${templateHash(sts.spec.template)}`;
    const parallel = sts.spec.podManagementPolicy === 'Parallel';
    const minReady = sts.spec.minReadySeconds ?? 0;
    const now = ctx.clock.now();
    const pods = new Map<number, Pod>();
    for (const p of podInf.store.byIndex(OWNER_INDEX, sts.metadata.uid!)) {
      const i = ordinalOf(name, p.metadata.name!);
      if (i >= 0 && controllerRef(p)?.uid === sts.metadata.uid) pods.set(i, p);
    }
    const healthy = (p: Pod | undefined) => !!p && !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && isPodReady(p);

    let acted = false;
    // Scale up / repair, lowest ordinal first.
    for (let i = 0; i < replicas; i++) {
      const p = pods.get(i);
      if (p?.status?.phase === 'Failed' && !p.metadata.deletionTimestamp) {
        await ctx.client.delete(resources.pods, namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }).catch(() => undefined);
        acted = true;
        if (!parallel) break;
        continue;
      }
      if (!p) {
        const revision = sts.status?.currentRevision && i < ((sts.spec.updateStrategy as { rollingUpdate?: { partition?: number } } | undefined)?.rollingUpdate?.partition ?? 0) ? sts.status.currentRevision : updateRevision;
        await ensureClaims(sts, `${name}-${i}`);
        try {
          await ctx.client.create<Pod>(resources.pods, namespace, newPod(sts, i, revision));
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
        acted = true;
        if (!parallel) break;
        continue;
      }
      if (!parallel && !healthy(p)) {
        acted = true;
        break;
      }
    }
    // Scale down, highest ordinal first, once everything below is healthy (or at once when Parallel).
    if (!acted) {
      const extra = [...pods.keys()].filter((i) => i >= replicas).sort((a, b) => b - a);
      for (const i of extra) {
        const p = pods.get(i)!;
        if (!p.metadata.deletionTimestamp) await ctx.client.delete(resources.pods, namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        acted = true;
        if (!parallel) break;
      }
    }
    // Rolling update: highest ordinal first down to the partition, one pod at a time.
    const strategy = sts.spec.updateStrategy as { type?: string; rollingUpdate?: { partition?: number } } | undefined;
    if (!acted && (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const partition = strategy?.rollingUpdate?.partition ?? 0;
      for (let i = replicas - 1; i >= partition; i--) {
        const p = pods.get(i);
        if (!p || p.metadata.deletionTimestamp || !healthy(p)) break;
        if (p.metadata.labels?.[REVISION_LABEL] !== updateRevision) {
          await ctx.client.delete(resources.pods, namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
          break;
        }
      }
    }

    const live = [...pods.entries()].filter(([i, p]) => i < replicas && !p.metadata.deletionTimestamp).map(([, p]) => p);
    const updated = live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
    const readyCount = live.filter(isPodReady).length;
    let currentRevision = sts.status?.currentRevision ?? updateRevision;
    if (updated === replicas && readyCount === replicas) currentRevision = updateRevision;
    const status = {
      observedGeneration: sts.metadata.generation ?? 1,
      replicas: live.length,
      readyReplicas: readyCount,
      availableReplicas: live.filter((p) => isPodAvailable(p, minReady, now)).length,
      currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
    };
    const cur = (sts.status ?? {}) as Record<string, unknown>;
    if (Object.entries(status).some(([k, v]) => (cur[k] ?? (typeof v === 'number' ? 0 : undefined)) !== v)) await ctx.client.update<StatefulSet>(resources.statefulsets, { ...sts, status }, 'status');
    if (minReady > 0 && status.readyReplicas > status.availableReplicas) return { requeueAfterMs: minReady * 1000 };
  }

  return loop.run([stsInf, podInf, pvcInf]);
}
