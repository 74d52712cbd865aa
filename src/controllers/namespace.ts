// Namespace controller: when a namespace is deleted (Terminating with the
// "kubernetes" finalizer), deletes every namespaced object in it — every
// resource discovery lists — waits until nothing is left, then removes the
// finalizer through PUT namespaces/<name>/finalize so the API server drops it.
import type { Namespace } from '../api/core.js';
import type { KubeList, KubeObject } from '../api/meta.js';
import { isNotFound } from '../client/errors.js';
import type { ResourceType } from '../client/resources.js';
import { resources } from '../client/resources.js';
import { createLoop, isoNow, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';

const FINALIZER = 'kubernetes';

interface ApiResource {
  name: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
}

export async function start(ctx: ControllerContext): Promise<Handle> {
  const nsInf = ctx.informers.get<Namespace>(resources.namespaces);
  const loop = createLoop(ctx, 'namespace', reconcile);
  const { queue } = loop;
  const terminating = (n: Namespace) => !!n.metadata.deletionTimestamp && (n.spec?.finalizers ?? []).includes(FINALIZER);
  nsInf.on({ add: (n) => terminating(n) && queue.add(n.metadata.name!), update: (_, n) => terminating(n) && queue.add(n.metadata.name!) });

  /** Every namespaced resource that can be listed and deleted, from discovery. */
  async function discover(): Promise<ResourceType[]> {
    const t = ctx.client.transport;
    const out: ResourceType[] = [];
    const add = (group: string, version: string, list: { resources: ApiResource[] }) => {
      for (const r of list.resources) {
        if (r.name.includes('/') || !r.namespaced || !r.verbs.includes('delete') || !r.verbs.includes('list')) continue;
        out.push({ group, version, kind: r.kind, plural: r.name, namespaced: true });
      }
    };
    add('', 'v1', await t.request('GET', '/api/v1'));
    const groups = await t.request<{ groups: { name: string; preferredVersion?: { version: string }; versions: { version: string }[] }[] }>('GET', '/apis');
    for (const g of groups.groups) {
      const v = g.preferredVersion?.version ?? g.versions[0]?.version;
      if (v) add(g.name, v, await t.request('GET', `/apis/${g.name}/${v}`));
    }
    return out;
  }

  async function reconcile(name: string): Promise<ReconcileResult> {
    const ns = nsInf.store.getBy(undefined, name);
    if (!ns || !terminating(ns)) return;
    const kinds = await discover();
    let remaining = 0;
    const left: string[] = [];
    for (const rt of kinds) {
      let list: KubeList<KubeObject>;
      try {
        list = await ctx.client.list(rt, name);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      if (!list.items.length) continue;
      remaining += list.items.length;
      left.push(`${rt.plural}${rt.group ? `.${rt.group}` : ''} has ${list.items.length} resource instances`);
      for (const o of list.items) {
        if (o.metadata.deletionTimestamp) continue;
        await ctx.client.delete(rt, name, o.metadata.name!, { propagationPolicy: 'Background' }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      }
    }
    if (remaining > 0) {
      const conditions = [{ type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${left.join(', ')}`, lastTransitionTime: isoNow(ctx.clock) }];
      await ctx.client.patch(resources.namespaces, undefined, name, { status: { conditions } }, 'merge', 'status').catch(() => undefined);
      // Pods in graceful deletion leave on their kubelet's schedule; look again soon.
      return { requeueAfterMs: 250 };
    }
    const finalizers = (ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER);
    try {
      await ctx.client.put(resources.namespaces, undefined, name, 'finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  return loop.run([nsInf]);
}
