// Service IP controller: the API server stores Services as given, so this
// controller fills in spec.clusterIP(s) from the service CIDR and nodePorts
// from the NodePort range for Services that lack them, and frees both when
// a Service goes. (service-alloc.ts is the same logic as an admission hook.)
import type { Service } from '../api/core.js';
import { objectKey, splitKey } from '../client/cache.js';
import { isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { ServiceAllocator } from './service-alloc.js';

export async function start(ctx: ControllerContext): Promise<Handle> {
  const svcInf = ctx.informers.get<Service>(resources.services);
  const alloc = new ServiceAllocator({ serviceCIDR: ctx.settings?.serviceCIDR, nodePortRange: ctx.settings?.nodePortRange });
  const loop = createLoop(ctx, 'service-ip', reconcile);
  const { queue } = loop;
  const needs = (s: Service) => {
    if (s.spec.type === 'ExternalName') return false;
    if (!s.spec.clusterIP) return true;
    return (s.spec.type === 'NodePort' || s.spec.type === 'LoadBalancer') && (s.spec.ports ?? []).some((p) => !p.nodePort);
  };
  // Allocations made by anyone (requested IPs, earlier runs) are taken as soon as they are seen.
  const seen = (s: Service) => (needs(s) ? queue.add(objectKey(s)) : alloc.observe(s));
  svcInf.on({
    add: seen,
    update: (_, s) => seen(s),
    delete: (s) => alloc.release(s.metadata.namespace!, s.metadata.name!),
  });

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cur = svcInf.store.getBy(namespace, name);
    if (!cur || !needs(cur)) return;
    const next = structuredClone(cur);
    const res = alloc.allocate(next);
    if (!res.ok) {
      ctx.recorder.event(cur, 'Warning', 'ClusterIPNotAllocated', `${res.field}: ${res.message}`);
      return { requeueAfterMs: 30_000 };
    }
    if (!res.changed) return;
    try {
      await ctx.client.patch<Service>(resources.services, namespace, name, { metadata: { resourceVersion: cur.metadata.resourceVersion }, spec: { clusterIP: next.spec.clusterIP, clusterIPs: next.spec.clusterIPs, ports: next.spec.ports } });
    } catch (err) {
      // Give back what we took; the next event retries from fresh state.
      alloc.release(namespace, name);
      if (isNotFound(err)) return;
      throw err;
    }
  }

  return loop.run([svcInf]);
}
