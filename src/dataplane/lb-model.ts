// Turns Kubernetes-shaped Services and EndpointSlices into the load
// balancer's desired frontends: one per (ClusterIP, port, protocol), with
// the backends that take new flows and those that only keep existing ones.
// Pure logic; service-table.ts writes the result into the BPF maps.
import { isIpv4, protoNumber } from './ip.js';

export interface ServicePortShape {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceShape {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    ports?: ServicePortShape[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: string;
  };
}

export interface EndpointShape {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  nodeName?: string;
}

export interface EndpointSliceShape {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: EndpointShape[] | null;
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
}

export type LbAlgorithm = 'random' | 'maglev';

/** Annotation selecting the backend selection algorithm of one Service. */
export const LB_ALGORITHM_ANNOTATION = 'service.ebbflow.io/lb-algorithm';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Kubernetes' default sessionAffinity ClientIP timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;

export interface BackendAddr {
  ip: string;
  port: number;
  proto: number;
  /** backendKey(this), when already computed. */
  key?: string;
}

export interface Frontend {
  /** "ns/name" of the owning Service. */
  service: string;
  portName: string;
  vip: string;
  port: number;
  proto: number;
  algorithm: LbAlgorithm;
  /** 0 when sessionAffinity is None. */
  affinityTimeout: number;
  /** Backends that receive new flows, in a stable order. */
  active: BackendAddr[];
  /** Backends kept for existing flows only (terminating or not ready). */
  draining: BackendAddr[];
  /** Set on the uplink's wildcard NodePort frontend only: its externalTrafficPolicy. */
  nodePort?: 'Cluster' | 'Local';
}

export const backendKey = (b: BackendAddr): string => `${b.ip}:${b.port}/${b.proto}`;
export const serviceKey = (ns: string | undefined, name: string): string => `${ns ?? 'default'}/${name}`;

/** Values of a key -> backend map, ordered by key (stable slot order). */
function sortedByKey(m: Map<string, BackendAddr>): BackendAddr[] {
  if (m.size <= 1) return [...m.values()];
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

/** The Service's backend selection algorithm and affinity timeout. */
export function selectionOf(svc: ServiceShape, defaultAlgorithm: LbAlgorithm): { algorithm: LbAlgorithm; affinityTimeout: number } {
  const spec = svc.spec ?? {};
  const annotated = svc.metadata.annotations?.[LB_ALGORITHM_ANNOTATION];
  const algorithm: LbAlgorithm = annotated === 'maglev' || annotated === 'random' ? annotated : defaultAlgorithm;
  const affinityTimeout =
    spec.sessionAffinity === 'ClientIP'
      ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT
      : 0;
  return { algorithm, affinityTimeout };
}

/** Computes the frontends of one Service from the EndpointSlices that name it. */
export function serviceFrontends(
  svc: ServiceShape,
  slices: readonly EndpointSliceShape[],
  defaultAlgorithm: LbAlgorithm = 'random',
  intern?: Map<string, BackendAddr>,
): Frontend[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const ips = new Set<string>();
  for (const ip of [spec.clusterIP, ...(spec.clusterIPs ?? []), ...(spec.externalIPs ?? [])]) {
    if (ip && ip !== 'None' && isIpv4(ip)) ips.add(ip);
  }
  if (ips.size === 0) return [];
  const { algorithm, affinityTimeout } = selectionOf(svc, defaultAlgorithm);
  const out: Frontend[] = [];
  for (const sp of spec.ports ?? []) {
    const proto = protoNumber(sp.protocol);
    const portName = sp.name ?? '';
    const { active, draining } = backendsFor(slices, portName, proto, intern);
    for (const vip of ips) {
      out.push({
        service: serviceKey(svc.metadata.namespace, svc.metadata.name),
        portName, vip, port: sp.port, proto, algorithm, affinityTimeout, active, draining,
      });
    }
  }
  return out;
}

/** Splits the endpoints for one service port the way kube-proxy does:
 * ready endpoints take new flows; when none is ready, serving terminating
 * ones do; everything else listed only keeps its existing flows. */
export function backendsFor(
  slices: readonly EndpointSliceShape[],
  portName: string,
  proto: number,
  /** Shares one BackendAddr per address across calls (fewer long-lived objects in big syncs). */
  intern?: Map<string, BackendAddr>,
  /** Only endpoints whose nodeName is this node (externalTrafficPolicy Local). */
  onNode?: string,
): { active: BackendAddr[]; draining: BackendAddr[] } {
  // Maps keyed by backendKey dedupe addresses listed in several slices;
  // the two non-ready groups are made only when such endpoints exist.
  const ready = new Map<string, BackendAddr>();
  let servingTerminating: Map<string, BackendAddr> | undefined;
  let rest: Map<string, BackendAddr> | undefined;
  for (const slice of slices) {
    if (slice.addressType && slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && protoNumber(p.protocol) === proto);
    if (!port || port.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      if (onNode !== undefined && ep.nodeName !== onNode) continue;
      const c = ep.conditions ?? {};
      // nil ready/serving mean "ready" per the EndpointSlice API.
      const isReady = c.ready !== false && c.terminating !== true;
      const isServing = c.serving ?? c.ready ?? true;
      for (const ip of ep.addresses) {
        if (!isIpv4(ip)) continue;
        const k = `${ip}:${port.port}/${proto}`;
        let b = intern?.get(k);
        if (!b) {
          b = { ip, port: port.port, proto, key: k };
          intern?.set(k, b);
        }
        if (isReady) ready.set(k, b);
        else if (c.terminating && isServing !== false) (servingTerminating ??= new Map()).set(k, b);
        else (rest ??= new Map()).set(k, b);
      }
    }
  }
  const active = ready.size > 0 || !servingTerminating ? ready : servingTerminating;
  const draining = new Map<string, BackendAddr>();
  for (const m of [rest, active === ready ? servingTerminating : undefined]) {
    if (m) for (const [k, b] of m) if (!active.has(k)) draining.set(k, b);
  }
  return { active: sortedByKey(active), draining: sortedByKey(draining) };
}
