// ResourceQuota controller: keeps status.hard equal to spec.hard and
// status.used equal to what the namespace holds for each hard key: object
// counts (count/<resource>[.<group>] and the legacy names pods, services,
// ...), services.nodeports/loadbalancers, pod requests/limits of cpu and
// memory, and PVC storage requests. Any change to a counted object
// recomputes the quotas of its namespace. Enforcement is admission's job.
import type { Container, PersistentVolumeClaim, Pod, ResourceQuota, Service } from '../api/core.js';
import type { KubeObject } from '../api/meta.js';
import { objectKey, splitKey } from '../client/cache.js';
import { isNotFound } from '../client/errors.js';
import type { Informer } from '../client/informer.js';
import { resources, type ResourceType } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { formatMilli, milliValue } from './quantity.js';

/** Countable resources by the name a quota uses after "count/" (group-qualified except core). */
const COUNTED: Record<string, ResourceType> = {
  pods: resources.pods,
  services: resources.services,
  configmaps: resources.configmaps,
  secrets: resources.secrets,
  persistentvolumeclaims: resources.persistentvolumeclaims,
  resourcequotas: resources.resourcequotas,
  'deployments.apps': resources.deployments,
  'replicasets.apps': resources.replicasets,
  'statefulsets.apps': resources.statefulsets,
  'daemonsets.apps': resources.daemonsets,
  'jobs.batch': resources.jobs,
  'cronjobs.batch': resources.cronjobs,
};
/** Names from before count/ existed, counted the same way. */
const LEGACY = new Set(['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'resourcequotas']);
const POD_COMPUTE = new Set(['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'cpu', 'memory', 'requests.ephemeral-storage', 'limits.ephemeral-storage', 'ephemeral-storage']);

/** Whether a pod still uses quota: not terminal, and not past its deletion grace period. */
function podCounts(p: Pod, now: number): boolean {
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return false;
  const del = p.metadata.deletionTimestamp;
  if (del && Date.parse(del) + (p.metadata.deletionGracePeriodSeconds ?? 0) * 1000 < now) return false;
  return true;
}

/** A pod's effective request or limit of one resource: max(sum of containers, largest init container), as upstream. */
function podAmount(p: Pod, kind: 'requests' | 'limits', resource: string): number {
  const of = (c: Container) => {
    const v = milliValue(c.resources?.[kind]?.[resource] ?? (kind === 'requests' ? c.resources?.limits?.[resource] : undefined));
    return Number.isNaN(v) ? 0 : v;
  };
  const sum = p.spec.containers.reduce((s, c) => s + of(c), 0);
  return Math.max(sum, ...(p.spec.initContainers ?? []).map(of));
}

function matchesScopes(p: Pod, scopes: string[] | undefined): boolean {
  for (const scope of scopes ?? []) {
    const terminating = p.spec.activeDeadlineSeconds !== undefined && p.spec.activeDeadlineSeconds >= 0;
    const bestEffort = [...p.spec.containers, ...(p.spec.initContainers ?? [])].every((c) => !Object.keys(c.resources?.requests ?? {}).length && !Object.keys(c.resources?.limits ?? {}).length);
    if (scope === 'Terminating' && !terminating) return false;
    if (scope === 'NotTerminating' && terminating) return false;
    if (scope === 'BestEffort' && !bestEffort) return false;
    if (scope === 'NotBestEffort' && bestEffort) return false;
  }
  return true;
}

/** status.used for one quota over the namespace's objects; keys it cannot evaluate are left out. */
export function computeUsage(q: ResourceQuota, list: (rt: ResourceType) => KubeObject[], now: number): Record<string, string> {
  const used: Record<string, string> = {};
  const scopes = q.spec?.scopes;
  const pods = () => (list(resources.pods) as Pod[]).filter((p) => podCounts(p, now) && matchesScopes(p, scopes));
  for (const key of Object.keys(q.spec?.hard ?? {})) {
    const counted = key.startsWith('count/') ? key.slice(6) : LEGACY.has(key) ? key : undefined;
    if (counted !== undefined) {
      const rt = COUNTED[counted];
      if (!rt) continue;
      used[key] = String(rt === resources.pods ? pods().length : list(rt).length);
    } else if (key === 'services.nodeports') {
      const svcs = list(resources.services) as Service[];
      used[key] = String(svcs.filter((s) => s.spec.type === 'NodePort' || s.spec.type === 'LoadBalancer').reduce((n, s) => n + (s.spec.ports?.length ?? 0), 0));
    } else if (key === 'services.loadbalancers') {
      used[key] = String((list(resources.services) as Service[]).filter((s) => s.spec.type === 'LoadBalancer').length);
    } else if (POD_COMPUTE.has(key)) {
      const [kind, resource] = key.includes('.') ? (key.split('.', 2) as ['requests' | 'limits', string]) : (['requests', key] as const);
      const milli = pods().reduce((s, p) => s + podAmount(p, kind, resource), 0);
      used[key] = formatMilli(milli, resource !== 'cpu');
    } else if (key === 'requests.storage') {
      const pvcs = list(resources.persistentvolumeclaims) as PersistentVolumeClaim[];
      used[key] = formatMilli(pvcs.reduce((s, c) => s + (milliValue(c.spec.resources?.requests?.storage) || 0), 0), true);
    }
  }
  return used;
}

/** Quantities equal in value ("1" and "1000m", "1Gi" and "1024Mi") compare equal. */
const sameQuantities = (a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined) => {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => b && k in b && milliValue(String(a![k])) === milliValue(String(b[k])));
};

export async function start(ctx: ControllerContext): Promise<Handle> {
  const quotaInf = ctx.informers.get<ResourceQuota>(resources.resourcequotas);
  const informers = new Map<ResourceType, Informer<KubeObject>>();
  for (const rt of new Set(Object.values(COUNTED))) informers.set(rt, ctx.informers.get<KubeObject>(rt));
  const loop = createLoop(ctx, 'resourcequota', reconcile);
  const namespaceChanged = (o: KubeObject) => {
    for (const q of quotaInf.store.byNamespace(o.metadata.namespace ?? '')) loop.queue.add(objectKey(q));
  };
  quotaInf.on({ add: (q) => loop.queue.add(objectKey(q)), update: (_, q) => loop.queue.add(objectKey(q)) });
  for (const [rt, inf] of informers) {
    if (rt === resources.resourcequotas) continue;
    inf.on({ add: namespaceChanged, update: (_, o) => namespaceChanged(o), delete: namespaceChanged });
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const q = quotaInf.store.get(key);
    if (!q) return;
    const { namespace } = splitKey(key);
    const used = computeUsage(q, (rt) => informers.get(rt)!.store.byNamespace(namespace), ctx.clock.now());
    const hard = { ...(q.spec?.hard ?? {}) };
    if (sameQuantities(q.status?.hard, hard) && sameQuantities(q.status?.used, used)) return;
    try {
      await ctx.client.update<ResourceQuota>(resources.resourcequotas, { ...q, status: { hard, used } }, 'status');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  return loop.run([quotaInf, ...informers.values()]);
}
