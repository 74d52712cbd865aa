// EndpointSlice controller: for every Service with a selector, keeps
// EndpointSlices listing the selected pods (ready / serving / terminating
// from the pod's Ready condition and deletionTimestamp, nodeName, targetRef)
// with ports resolved per pod (named targetPorts looked up in the pod's
// containers), plus the legacy Endpoints object.
import type { EndpointSlice, Endpoint } from '../api/apps.js';
import type { Endpoints, Pod, Service, ServicePort } from '../api/core.js';
import { objectKey, splitKey } from '../client/cache.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { isPodReady } from './pods.js';
import { canonicalJson } from './rollout.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
const MAX_ENDPOINTS = 100;

type SlicePort = NonNullable<EndpointSlice['ports']>[number];

/** The port a service port reaches on this pod; undefined when a named targetPort is absent. */
export function resolvePort(sp: ServicePort, pod: Pod): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of pod.spec.containers ?? []) {
    const p = c.ports?.find((x) => x.name === tp && (x.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'));
    if (p) return p.containerPort;
  }
  return undefined;
}

function selects(svc: Service, pod: Pod): boolean {
  const sel = svc.spec.selector;
  if (!sel || !Object.keys(sel).length) return false;
  return Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

/** Desired slices' content for a service: endpoints grouped by their resolved ports. */
export function desiredGroups(svc: Service, pods: Pod[]): { ports: SlicePort[]; endpoints: Endpoint[] }[] {
  const groups = new Map<string, { ports: SlicePort[]; endpoints: Endpoint[] }>();
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (!ip || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const ports: SlicePort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const port = resolvePort(sp, pod);
      if (port === undefined) continue;
      ports.push({ name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
    }
    const key = canonicalJson(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: [] }));
    const terminating = !!pod.metadata.deletionTimestamp;
    const serving = isPodReady(pod);
    g.endpoints.push({
      addresses: [ip],
      conditions: { ready: svc.spec.publishNotReadyAddresses ? true : serving && !terminating, serving, terminating },
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    });
  }
  const out: { ports: SlicePort[]; endpoints: Endpoint[] }[] = [];
  for (const g of groups.values()) {
    g.endpoints.sort((a, b) => (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? ''));
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS) out.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS) });
  }
  return out;
}

/** The legacy Endpoints subsets: ready and not-ready addresses per port set; terminating pods left out. */
export function desiredSubsets(svc: Service, groups: ReturnType<typeof desiredGroups>): Endpoints['subsets'] {
  const subsets: NonNullable<Endpoints['subsets']> = [];
  for (const g of groups) {
    const addr = (e: Endpoint) => ({ ip: e.addresses[0], ...(e.nodeName ? { nodeName: e.nodeName } : {}), targetRef: e.targetRef });
    const live = g.endpoints.filter((e) => !e.conditions?.terminating || svc.spec.publishNotReadyAddresses);
    const ready = live.filter((e) => e.conditions?.ready).map(addr);
    const notReady = live.filter((e) => !e.conditions?.ready).map(addr);
    if (!ready.length && !notReady.length) continue;
    subsets.push({ ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports: g.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port!, protocol: p.protocol })) });
  }
  return subsets;
}

export async function start(ctx: ControllerContext): Promise<Handle> {
  const svcInf = ctx.informers.get<Service>(resources.services);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  const sliceInf = ctx.informers.get<EndpointSlice>(resources.endpointslices);
  const epInf = ctx.informers.get<Endpoints>(resources.endpoints);
  const SVC_INDEX = 'serviceName';
  sliceInf.store.addIndex(SVC_INDEX, (s) => (s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && s.metadata.labels?.[SERVICE_NAME_LABEL] ? [`${s.metadata.namespace}/${s.metadata.labels[SERVICE_NAME_LABEL]}`] : []));
  const loop = createLoop(ctx, 'endpointslice', reconcile);
  const { queue } = loop;

  const forPod = (p: Pod) => {
    for (const svc of svcInf.store.byNamespace(p.metadata.namespace!)) if (selects(svc, p)) queue.add(objectKey(svc));
  };
  svcInf.on({ add: (s) => queue.add(objectKey(s)), update: (_, s) => queue.add(objectKey(s)), delete: (s) => queue.add(objectKey(s)) });
  podInf.on({
    add: forPod,
    update(old, p) {
      forPod(p);
      if (canonicalJson(old.metadata.labels) !== canonicalJson(p.metadata.labels)) forPod(old);
    },
    delete: forPod,
  });
  const forSlice = (s: EndpointSlice) => {
    const name = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (name && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) queue.add(`${s.metadata.namespace}/${name}`);
  };
  sliceInf.on({ add: forSlice, update: (_, s) => forSlice(s), delete: forSlice });
  epInf.on({ delete: (e) => queue.add(objectKey(e)) });

  // Our own slice writes the cache has not shown yet (name -> resourceVersion, or null for a delete):
  // acting on a cache that lags them would create duplicates.
  const written = new Map<string, Map<string, number | null>>();
  const cacheCaughtUp = (key: string, namespace: string) => {
    const w = written.get(key);
    if (!w) return true;
    for (const [n, rv] of w) {
      const cur = sliceInf.store.getBy(namespace, n);
      if (rv === null ? cur : !cur || Number(cur.metadata.resourceVersion) < rv) return false;
    }
    written.delete(key);
    return true;
  };
  const note = (key: string, n: string, rv: number | null) => {
    let w = written.get(key);
    if (!w) written.set(key, (w = new Map()));
    w.set(n, rv);
  };

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    if (!cacheCaughtUp(key, namespace)) return { requeueAfterMs: 20 };
    const svc = svcInf.store.getBy(namespace, name);
    const existing = sliceInf.store.byIndex(SVC_INDEX, key);
    const drop = async (s: EndpointSlice) => {
      await ctx.client.delete(resources.endpointslices, s.metadata.namespace, s.metadata.name!).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      note(key, s.metadata.name!, null);
    };
    if (!svc || !svc.spec.selector || !Object.keys(svc.spec.selector).length || svc.spec.type === 'ExternalName') {
      for (const s of existing) await drop(s);
      // Endpoints of selector-less services belong to the user.
      if (!svc) await ctx.client.delete(resources.endpoints, namespace, name).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      return;
    }
    const pods = podInf.store.byNamespace(namespace).filter((p) => selects(svc, p));
    let groups = desiredGroups(svc, pods);
    // Like upstream, a service with no endpoints still gets one (empty) slice.
    if (!groups.length) groups = [{ ports: [], endpoints: [] }];
    const labels = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
    const owner = [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }];
    const unused = [...existing].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    for (const g of groups) {
      const want = { addressType: 'IPv4' as const, endpoints: g.endpoints, ports: g.ports };
      // Reuse a slice with the same ports first, then any left over.
      let i = unused.findIndex((s) => canonicalJson(s.ports ?? []) === canonicalJson(g.ports));
      if (i < 0) i = unused.length ? 0 : -1;
      if (i >= 0) {
        const cur = unused.splice(i, 1)[0];
        const same = canonicalJson({ a: cur.addressType, e: cur.endpoints ?? [], p: cur.ports ?? [], l: cur.metadata.labels }) === canonicalJson({ a: want.addressType, e: want.endpoints, p: want.ports, l: labels });
        if (!same) {
          const out = await ctx.client.update<EndpointSlice>(resources.endpointslices, { ...cur, ...want, metadata: { ...cur.metadata, labels, ownerReferences: owner } });
          note(key, out.metadata.name!, Number(out.metadata.resourceVersion));
        }
      } else {
        const out = await ctx.client.create<EndpointSlice>(resources.endpointslices, namespace, { metadata: { generateName: `${name}-`, namespace, labels, ownerReferences: owner }, ...want });
        note(key, out.metadata.name!, Number(out.metadata.resourceVersion));
      }
    }
    for (const s of unused) await drop(s);
    await syncEndpoints(svc, groups);
  }

  async function syncEndpoints(svc: Service, groups: ReturnType<typeof desiredGroups>): Promise<void> {
    const { namespace, name } = svc.metadata;
    const subsets = desiredSubsets(svc, groups);
    const cur = epInf.store.getBy(namespace, name!);
    const labels = { ...(svc.metadata.labels ?? {}) };
    if (!cur) {
      try {
        await ctx.client.create<Endpoints>(resources.endpoints, namespace, { metadata: { name, namespace, labels }, subsets });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        throw new Error(`endpoints ${namespace}/${name} not yet in cache`);
      }
      return;
    }
    if (canonicalJson(cur.subsets ?? []) === canonicalJson(subsets) && canonicalJson(cur.metadata.labels ?? {}) === canonicalJson(labels)) return;
    await ctx.client.update<Endpoints>(resources.endpoints, { ...cur, metadata: { ...cur.metadata, labels }, subsets });
  }

  return loop.run([svcInf, podInf, sliceInf, epInf]);
}
