// The `kubernetes` Service: keeps default/kubernetes (ClusterIP = first
// address of the service CIDR, port 443 -> the API server's port) with its
// Endpoints and EndpointSlice pointing at the API server, so in-cluster
// clients reach it at https://kubernetes.default.svc. Runs only when the
// manager is told the API server's address.
import type { EndpointSlice } from '../api/apps.js';
import type { Endpoints, Service } from '../api/core.js';
import type { KubeObject } from '../api/meta.js';
import { isAlreadyExists } from '../client/errors.js';
import { resources, type ResourceType } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { clusterIPAllocator, DEFAULT_SERVICE_CIDR } from './ipalloc.js';
import { canonicalJson } from './rollout.js';
import { SERVICE_NAME_LABEL } from './endpointslice.js';

const NAME = 'kubernetes';
const NS = 'default';
const RECHECK_MS = 30_000;

export interface ApiServerEndpoint {
  /** IPv4 address pods use to reach the API server. */
  address: string;
  port: number;
}

export async function start(ctx: ControllerContext, endpoint: ApiServerEndpoint): Promise<Handle> {
  const svcInf = ctx.informers.get<Service>(resources.services);
  const epInf = ctx.informers.get<Endpoints>(resources.endpoints);
  const sliceInf = ctx.informers.get<EndpointSlice>(resources.endpointslices);
  const clusterIP = clusterIPAllocator(ctx.settings?.serviceCIDR ?? DEFAULT_SERVICE_CIDR).wellKnown.kubernetes;
  const loop = createLoop(ctx, 'kubernetes-service', reconcile);
  const ours = (o: KubeObject) => o.metadata.namespace === NS && o.metadata.name === NAME;
  const handler = { add: (o: KubeObject) => ours(o) && loop.queue.add(NAME), update: (_: KubeObject, o: KubeObject) => ours(o) && loop.queue.add(NAME), delete: (o: KubeObject) => ours(o) && loop.queue.add(NAME) };
  for (const inf of [svcInf, epInf, sliceInf]) inf.on(handler);
  loop.queue.add(NAME);

  const labels = { component: 'apiserver', provider: 'kubernetes' };
  const port = { name: 'https', port: endpoint.port, protocol: 'TCP' as const };

  /** Creates the object or brings the given fields in line; returns nothing. */
  async function ensure<T extends KubeObject>(rt: ResourceType, cur: T | undefined, want: T, fields: (keyof T)[]): Promise<void> {
    if (!cur) {
      try {
        await ctx.client.create<T>(rt, NS, want);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      return;
    }
    const pick = (o: T) => canonicalJson(fields.map((f) => o[f]));
    if (pick(cur) === pick(want) && canonicalJson(cur.metadata.labels ?? {}) === canonicalJson({ ...(cur.metadata.labels ?? {}), ...want.metadata.labels })) return;
    const next = { ...cur, metadata: { ...cur.metadata, labels: { ...(cur.metadata.labels ?? {}), ...want.metadata.labels } } } as T;
    for (const f of fields) next[f] = want[f];
    await ctx.client.update<T>(rt, next);
  }

  async function reconcile(): Promise<ReconcileResult> {
    const svc = svcInf.store.getBy(NS, NAME);
    const wantSvc: Service = { metadata: { name: NAME, namespace: NS, labels }, spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: endpoint.port }] } };
    if (!svc) await ensure(resources.services, undefined, wantSvc, ['spec']);
    else {
      // clusterIP is immutable: only the ports are ours to correct.
      const ports = wantSvc.spec.ports;
      if (canonicalJson(svc.spec.ports) !== canonicalJson(ports)) await ctx.client.update<Service>(resources.services, { ...svc, spec: { ...svc.spec, ports } });
    }
    await ensure<Endpoints>(resources.endpoints, epInf.store.getBy(NS, NAME), { metadata: { name: NAME, namespace: NS, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets: [{ addresses: [{ ip: endpoint.address }], ports: [port] }] }, ['subsets']);
    await ensure<EndpointSlice>(resources.endpointslices, sliceInf.store.getBy(NS, NAME), { metadata: { name: NAME, namespace: NS, labels: { [SERVICE_NAME_LABEL]: NAME } }, addressType: 'IPv4', endpoints: [{ addresses: [endpoint.address], conditions: { ready: true } }], ports: [port] }, ['addressType', 'endpoints', 'ports']);
    return { requeueAfterMs: RECHECK_MS };
  }

  return loop.run([svcInf, epInf, sliceInf]);
}

