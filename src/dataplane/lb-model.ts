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
}

export const frontendKey = (vip: string, port: number, proto: number): string => `${vip}:${port}/${proto}`;
export const backendKey = (b: BackendAddr): string => `${b.ip}:${b.port}/${b.proto}`;
export const serviceKey = (ns: string | undefined, name: string): string => `${ns ?? 'default'}/${name}`;

function compareBackend(a: BackendAddr, b: BackendAddr): number {
  const ka = backendKey(a);
  const kb = backendKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Computes the frontends of one Service from the EndpointSlices that name it. */
export function serviceFrontends(
  svc: ServiceShape,
  slices: readonly EndpointSliceShape[],
  defaultAlgorithm: LbAlgorithm = 'random',
): Frontend[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const ips = new Set<string>();
  for (const ip of [spec.clusterIP, ...(spec.clusterIPs ?? []), ...(spec.externalIPs ?? [])]) {
    if (ip && ip !== 'None' && isIpv4(ip)) ips.add(ip);
  }
  if (ips.size === 0) return [];
  const annotated = svc.metadata.annotations?.[LB_ALGORITHM_ANNOTATION];
  const algorithm: LbAlgorithm = annotated === 'maglev' || annotated === 'random' ? annotated : defaultAlgorithm;
  const affinityTimeout =
    spec.sessionAffinity === 'ClientIP'
      ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT
      : 0;
  const out: Frontend[] = [];
  for (const sp of spec.ports ?? []) {
    const proto = protoNumber(sp.protocol);
    const portName = sp.name ?? '';
    const { active, draining } = backendsFor(slices, portName, proto);
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
): { active: BackendAddr[]; draining: BackendAddr[] } {
  const ready = new Map<string, BackendAddr>();
  const servingTerminating = new Map<string, BackendAddr>();
  const rest = new Map<string, BackendAddr>();
  for (const slice of slices) {
    if (slice.addressType && slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && protoNumber(p.protocol) === proto);
    if (!port || port.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const c = ep.conditions ?? {};
      // nil ready/serving mean "ready" per the EndpointSlice API.
      const isReady = c.ready !== false && c.terminating !== true;
      const isServing = c.serving ?? c.ready ?? true;
      for (const ip of ep.addresses) {
        if (!isIpv4(ip)) continue;
        const b = { ip, port: port.port, proto };
        const k = backendKey(b);
        if (isReady) ready.set(k, b);
        else if (c.terminating && isServing !== false) servingTerminating.set(k, b);
        else rest.set(k, b);
      }
    }
  }
  let active: Map<string, BackendAddr>;
  const draining = new Map(rest);
  if (ready.size > 0) {
    active = ready;
    for (const [k, b] of servingTerminating) draining.set(k, b);
  } else {
    active = servingTerminating;
  }
  for (const k of active.keys()) draining.delete(k);
  return {
    active: [...active.values()].sort(compareBackend),
    draining: [...draining.values()].sort(compareBackend),
  };
}
