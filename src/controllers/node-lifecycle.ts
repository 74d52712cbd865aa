// Node lifecycle: watches kubelet heartbeats (the node's Lease in
// kube-node-lease and its Ready condition); a node silent past the grace
// period gets Ready=Unknown, its pods Ready=False and the
// node.kubernetes.io/unreachable taints; pods that do not tolerate the
// NoExecute taint (for longer than tolerationSeconds) are evicted. Taints
// go when the kubelet reports Ready again. Pods bound to deleted nodes are
// removed.
import type { Lease } from '../api/apps.js';
import type { Node, Pod, Taint, Toleration } from '../api/core.js';
import type { Condition } from '../api/meta.js';
import { isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { createLoop, isoNow, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';

const LEASE_NS = 'kube-node-lease';
export const UNREACHABLE = 'node.kubernetes.io/unreachable';
export const NOT_READY = 'node.kubernetes.io/not-ready';
const NODE_INDEX = 'nodeName';

/** Whether tolerations cover a taint; undefined seconds means forever. */
export function toleration(tolerations: Toleration[] | undefined, t: Taint): { tolerated: boolean; seconds?: number } {
  for (const tol of tolerations ?? []) {
    if (tol.effect && tol.effect !== t.effect) continue;
    if (tol.key && tol.key !== t.key) continue;
    if (!tol.key && tol.operator !== 'Exists') continue;
    if (tol.operator !== 'Exists' && (tol.value ?? '') !== (t.value ?? '')) continue;
    return { tolerated: true, seconds: tol.tolerationSeconds };
  }
  return { tolerated: false };
}

export async function start(ctx: ControllerContext): Promise<Handle> {
  const nodeInf = ctx.informers.get<Node>(resources.nodes);
  const leaseInf = ctx.informers.get<Lease>(resources.leases);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  podInf.store.addIndex(NODE_INDEX, (p) => (p.spec.nodeName ? [p.spec.nodeName] : []));
  const grace = ctx.settings?.nodeMonitorGracePeriodMs ?? 40_000;
  const period = ctx.settings?.nodeMonitorPeriodMs ?? 5_000;
  const defaultToleration = ctx.settings?.defaultTolerationSeconds ?? 300;
  // Heartbeats are judged by when we saw them change, so kubelet clock skew does not matter.
  const seen = new Map<string, { probe: string; at: number }>();
  const loop = createLoop(ctx, 'node-lifecycle', reconcile);
  const { queue } = loop;
  nodeInf.on({ add: (n) => queue.add(n.metadata.name!), update: (_, n) => queue.add(n.metadata.name!), delete: (n) => queue.add(n.metadata.name!) });
  leaseInf.on({ update: (_, l) => l.metadata.namespace === LEASE_NS && queue.add(l.metadata.name!) });

  function heartbeat(n: Node): number {
    const lease = leaseInf.store.getBy(LEASE_NS, n.metadata.name!);
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    const probe = `${lease?.spec?.renewTime ?? ''}|${ready?.lastHeartbeatTime ?? ''}|${ready?.status ?? ''}`;
    const prev = seen.get(n.metadata.name!);
    if (!prev || prev.probe !== probe) seen.set(n.metadata.name!, { probe, at: ctx.clock.now() });
    return seen.get(n.metadata.name!)!.at;
  }

  async function reconcile(name: string): Promise<ReconcileResult> {
    const node = nodeInf.store.getBy(undefined, name);
    if (!node) {
      seen.delete(name);
      // No node, no kubelet: nothing will ever finish these pods' deletion.
      for (const p of podInf.store.byIndex(NODE_INDEX, name)) {
        await ctx.client.delete(resources.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      }
      return;
    }
    const now = ctx.clock.now();
    const silentFor = now - heartbeat(node);
    let conditions = node.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    if (silentFor > grace && ready?.status !== 'Unknown') {
      const t = isoNow(ctx.clock);
      conditions = conditions.map((c) => (['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'].includes(c.type) ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: t } : c)) as Condition[];
      if (!ready) conditions.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastTransitionTime: t } as Condition);
      await ctx.client.patch(resources.nodes, undefined, name, { status: { conditions } }, 'merge', 'status');
      ctx.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      for (const p of podInf.store.byIndex(NODE_INDEX, name)) await markNotReady(p);
    }
    const status = conditions.find((c) => c.type === 'Ready')?.status;
    const wanted = status === 'Unknown' ? UNREACHABLE : status === 'False' ? NOT_READY : undefined;
    const taints = node.spec?.taints ?? [];
    const others = taints.filter((t) => t.key !== UNREACHABLE && t.key !== NOT_READY);
    const ours = taints.filter((t) => t.key === wanted);
    let next = others;
    if (wanted) {
      const stamp = ours.find((t) => t.effect === 'NoExecute')?.timeAdded ?? isoNow(ctx.clock);
      next = [...others, { key: wanted, effect: 'NoSchedule', timeAdded: stamp }, { key: wanted, effect: 'NoExecute', timeAdded: stamp }];
    }
    if (JSON.stringify(next) !== JSON.stringify(taints)) {
      await ctx.client.patch(resources.nodes, undefined, name, { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints: next.length ? next : null } });
      return { requeueAfterMs: period };
    }
    const noExecute = next.find((t) => t.effect === 'NoExecute' && t.key === wanted);
    let soonest = period;
    if (noExecute) {
      const since = Date.parse(noExecute.timeAdded ?? '') || now;
      for (const p of podInf.store.byIndex(NODE_INDEX, name)) {
        if (p.metadata.deletionTimestamp) continue;
        const tol = toleration(p.spec.tolerations, noExecute);
        if (tol.tolerated && tol.seconds === undefined) continue;
        const seconds = tol.tolerated ? Math.max(0, tol.seconds!) : defaultToleration;
        const due = since + seconds * 1000;
        if (due > now) {
          soonest = Math.min(soonest, due - now);
          continue;
        }
        await ctx.client.delete(resources.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        ctx.recorder.event(p, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${p.metadata.namespace}/${p.metadata.name}`);
      }
    }
    // Look again within the grace period even without events: silence is what we watch for.
    return { requeueAfterMs: Math.max(50, Math.min(soonest, period, grace - silentFor > 0 ? grace - silentFor + 10 : period)) };
  }

  async function markNotReady(p: Pod): Promise<void> {
    const conds = p.status?.conditions ?? [];
    if (!conds.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    const t = isoNow(ctx.clock);
    const next = conds.map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', lastTransitionTime: t } : c));
    await ctx.client.patch(resources.pods, p.metadata.namespace, p.metadata.name!, { status: { conditions: next } }, 'merge', 'status').catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  return loop.run([nodeInf, leaseInf, podInf]);
}
