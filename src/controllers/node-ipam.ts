// Node IPAM: gives every Node a pod CIDR (spec.podCIDR and podCIDRs) cut
// from the cluster CIDR, keeping the ones nodes already have, and frees a
// node's block when the Node is deleted.
import type { Node } from '../api/core.js';
import { isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { CidrBlockAllocator } from './ipalloc.js';

export async function start(ctx: ControllerContext): Promise<Handle> {
  const nodeInf = ctx.informers.get<Node>(resources.nodes);
  const alloc = new CidrBlockAllocator(ctx.settings?.clusterCIDR ?? '10.244.0.0/16', ctx.settings?.nodeCIDRMaskSize ?? 24);
  const held = new Map<string, string>();
  const loop = createLoop(ctx, 'node-ipam', reconcile);
  const { queue } = loop;
  // CIDRs nodes already carry (set by us earlier, by a kubelet or by hand) are taken, whenever they appear.
  const observe = (n: Node) => {
    const c = n.spec?.podCIDR;
    const name = n.metadata.name!;
    if (!c) return queue.add(name);
    const prev = held.get(name);
    if (prev === c) return;
    if (prev) alloc.release(prev);
    alloc.claim(c);
    held.set(name, c);
  };
  nodeInf.on({
    add: observe,
    update: (_, n) => observe(n),
    delete(n) {
      const c = held.get(n.metadata.name!) ?? n.spec?.podCIDR;
      if (c) alloc.release(c);
      held.delete(n.metadata.name!);
    },
  });
  const synced = nodeInf.waitForSync();

  async function reconcile(name: string): Promise<ReconcileResult> {
    await synced;
    const n = nodeInf.store.getBy(undefined, name);
    if (!n || n.spec?.podCIDR) return;
    let cidr = held.get(name);
    if (!cidr) {
      cidr = alloc.next();
      if (!cidr) {
        ctx.recorder.event(n, 'Warning', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
        return { requeueAfterMs: 30_000 };
      }
      held.set(name, cidr);
    }
    try {
      await ctx.client.patch<Node>(resources.nodes, undefined, name, { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
      ctx.recorder.event(n, 'Normal', 'CIDRAssignmentSucceeded', `Assigned pod CIDR ${cidr} to node ${name}`);
    } catch (err) {
      if (isNotFound(err)) {
        alloc.release(cidr);
        held.delete(name);
        return;
      }
      throw err;
    }
  }

  return loop.run([nodeInf]);
}
