// DaemonSet controller: one pod per eligible node (nodeSelector matches,
// NoSchedule/NoExecute taints tolerated), pinned through required node
// affinity on metadata.name so the scheduler binds it; extra or misplaced
// pods are deleted, failed ones replaced; RollingUpdate replaces old pods
// (by template hash) at most maxUnavailable nodes at a time; status as
// `kubectl rollout status daemonset` reads it.
import type { DaemonSet } from '../api/apps.js';
import type { Node, Pod, Toleration } from '../api/core.js';
import { objectKey, ownerUidIndex, splitKey } from '../client/cache.js';
import { isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { controllerRef, createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { Expectations } from './expectations.js';
import { toleration } from './node-lifecycle.js';
import { isPodAvailable, isPodReady } from './pods.js';
import { OWNER_INDEX, podFromTemplate } from './replicaset.js';
import { scaledValue, templateHash } from './rollout.js';

export const HASH_LABEL = 'controller-revision-hash';

/** Tolerations every daemon pod gets, as upstream adds them. */
const DEFAULT_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** The node a daemon pod is for: its nodeName, or the metadata.name its required affinity pins. */
export function targetNode(p: Pod): string | undefined {
  if (p.spec.nodeName) return p.spec.nodeName;
  const terms = (p.spec.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { key: string; operator: string; values?: string[] }[] }[] } } } | undefined)?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return terms?.[0]?.matchFields?.find((f) => f.key === 'metadata.name' && f.operator === 'In')?.values?.[0];
}

/** Whether the DaemonSet's pod belongs on this node. */
export function shouldRun(ds: DaemonSet, node: Node): boolean {
  const sel = ds.spec.template.spec.nodeSelector ?? {};
  if (!Object.entries(sel).every(([k, v]) => node.metadata.labels?.[k] === v)) return false;
  const tols = [...(ds.spec.template.spec.tolerations ?? []), ...DEFAULT_TOLERATIONS];
  return (node.spec?.taints ?? []).every((t) => t.effect === 'PreferNoSchedule' || toleration(tols, t).tolerated);
}

export async function start(ctx: ControllerContext): Promise<Handle> {
  const dsInf = ctx.informers.get<DaemonSet>(resources.daemonsets);
  const nodeInf = ctx.informers.get<Node>(resources.nodes);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  podInf.store.addIndex(OWNER_INDEX, ownerUidIndex);
  const expectations = new Expectations(ctx.clock);
  const loop = createLoop(ctx, 'daemonset', reconcile);
  const { queue } = loop;
  const all = () => dsInf.store.list().forEach((ds) => queue.add(objectKey(ds)));
  const ownerKey = (p: Pod) => {
    const ref = controllerRef(p);
    return ref?.kind === 'DaemonSet' ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  dsInf.on({ add: (d) => queue.add(objectKey(d)), update: (_, d) => queue.add(objectKey(d)), delete: (d) => expectations.forget(objectKey(d)) });
  nodeInf.on({ add: all, update: (a, b) => JSON.stringify([a.metadata.labels, a.spec?.taints]) !== JSON.stringify([b.metadata.labels, b.spec?.taints]) && all(), delete: all });
  podInf.on({
    add(p) {
      const k = ownerKey(p);
      if (!k) return;
      expectations.creationObserved(k);
      queue.add(k);
    },
    update(old, p) {
      const k = ownerKey(p);
      if (!k) return;
      if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) expectations.deletionObserved(k, objectKey(p));
      queue.add(k);
    },
    delete(p) {
      const k = ownerKey(p);
      if (!k) return;
      expectations.deletionObserved(k, objectKey(p));
      queue.add(k);
    },
  });

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const ds = dsInf.store.getBy(namespace, name);
    if (!ds) return;
    const hash = templateHash(ds.spec.template);
    const pods = podInf.store.byIndex(OWNER_INDEX, ds.metadata.uid!).filter((p) => controllerRef(p)?.uid === ds.metadata.uid);
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = targetNode(p);
      if (!n || p.metadata.deletionTimestamp) continue;
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const nodes = nodeInf.store.list();
    const eligible = new Set(nodes.filter((n) => shouldRun(ds, n)).map((n) => n.metadata.name!));
    const now = ctx.clock.now();
    const minReady = ds.spec.minReadySeconds ?? 0;
    const create: string[] = [];
    const remove: Pod[] = [];
    for (const n of nodes.map((x) => x.metadata.name!)) {
      const here = (byNode.get(n) ?? []).sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
      if (!eligible.has(n)) {
        remove.push(...here);
        continue;
      }
      const failed = here.filter((p) => p.status?.phase === 'Failed');
      remove.push(...failed);
      const live = here.filter((p) => p.status?.phase !== 'Failed');
      if (!live.length) create.push(n);
      else remove.push(...live.slice(1));
    }
    for (const [n, here] of byNode) if (!nodes.some((x) => x.metadata.name === n)) remove.push(...here);

    // Rolling update: replace old-hash pods while at most maxUnavailable eligible nodes lack an available pod.
    const strategy = ds.spec.updateStrategy as { type?: string; rollingUpdate?: { maxUnavailable?: number | string } } | undefined;
    if ((strategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const maxUnavailable = Math.max(1, scaledValue(strategy?.rollingUpdate?.maxUnavailable ?? 1, eligible.size, true));
      const current = (n: string) => (byNode.get(n) ?? []).find((p) => p.status?.phase !== 'Failed' && !remove.includes(p));
      let unavailable = [...eligible].filter((n) => {
        const p = current(n);
        return !p || !isPodAvailable(p, minReady, now);
      }).length;
      const old = [...eligible].map(current).filter((p): p is Pod => !!p && p.metadata.labels?.[HASH_LABEL] !== hash);
      // Unavailable old pods cost nothing to replace; go first.
      for (const p of old.sort((a, b) => Number(isPodAvailable(a, minReady, now)) - Number(isPodAvailable(b, minReady, now)))) {
        const avail = isPodAvailable(p, minReady, now);
        if (avail && unavailable >= maxUnavailable) break;
        remove.push(p);
        if (avail) unavailable++;
      }
    }

    if (expectations.satisfied(key) && !ds.metadata.deletionTimestamp) {
      expectations.expect(key, create.length, remove.map((p) => objectKey(p)));
      for (const n of create) {
        const pod = podFromTemplate(ds, ds.spec.template, 'DaemonSet', 'apps/v1');
        pod.metadata.labels = { ...pod.metadata.labels, [HASH_LABEL]: hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) };
        pod.spec.tolerations = [...(pod.spec.tolerations ?? []), ...DEFAULT_TOLERATIONS.filter((d) => !(pod.spec.tolerations ?? []).some((t) => t.key === d.key && t.effect === d.effect))];
        (pod.spec as { affinity?: unknown }).affinity = { ...((pod.spec as { affinity?: object }).affinity ?? {}), nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [n] }] }] } } };
        try {
          await ctx.client.create<Pod>(resources.pods, namespace, pod);
        } catch (err) {
          expectations.creationObserved(key);
          ctx.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
          throw err;
        }
      }
      for (const p of remove) {
        await ctx.client.delete(resources.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }).catch((err: unknown) => {
          expectations.deletionObserved(key, objectKey(p));
          if (!isNotFound(err)) throw err;
        });
      }
      if (create.length) ctx.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created ${create.length} pod(s)`);
    }

    const onEligible = [...eligible].map((n) => (byNode.get(n) ?? [])[0]).filter((p): p is Pod => !!p);
    const status = {
      desiredNumberScheduled: eligible.size,
      currentNumberScheduled: onEligible.length,
      numberMisscheduled: [...byNode.keys()].filter((n) => !eligible.has(n)).length,
      numberReady: onEligible.filter(isPodReady).length,
      updatedNumberScheduled: onEligible.filter((p) => p.metadata.labels?.[HASH_LABEL] === hash).length,
      numberAvailable: onEligible.filter((p) => isPodAvailable(p, minReady, now)).length,
      numberUnavailable: eligible.size - onEligible.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: ds.metadata.generation ?? 1,
    };
    const cur = (ds.status ?? {}) as Record<string, unknown>;
    if (Object.entries(status).some(([k, v]) => (cur[k] ?? 0) !== v)) await ctx.client.update<DaemonSet>(resources.daemonsets, { ...ds, status }, 'status');
    if (minReady > 0 && status.numberReady > status.numberAvailable) return { requeueAfterMs: minReady * 1000 };
  }

  return loop.run([dsInf, nodeInf, podInf]);
}
