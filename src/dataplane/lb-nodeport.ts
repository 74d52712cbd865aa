// NodePort frontends of Services of type NodePort or LoadBalancer, and the
// node's NodePort settings. Per service port with a nodePort:
//  - one exact (node InternalIP, nodePort) frontend per node of the
//    cluster, with every backend: what in-cluster clients (socket LB and
//    the pod tc path) see, like a ClusterIP (kube-proxy also gives pods
//    cluster-wide backends under externalTrafficPolicy Local);
//  - one wildcard (0.0.0.0, nodePort) frontend, looked up only by the
//    uplink programs (bpf/lib/nodeport.h) for traffic from outside the
//    node: every backend for externalTrafficPolicy Cluster, only those
//    whose EndpointSlice nodeName is this node for Local.
// Pure logic; service-table.ts writes the result.
import { isIpv4, protoNumber } from './ip.js';
import {
  backendsFor, selectionOf, serviceKey,
  type BackendAddr, type EndpointSliceShape, type Frontend, type LbAlgorithm, type ServiceShape,
} from './lb-model.js';

/** The frontend address of the uplink's NodePort frontends. */
export const NODEPORT_WILDCARD = '0.0.0.0';

export interface PortRange {
  min: number;
  max: number;
}

/** Kubernetes' default --service-node-port-range. */
export const DEFAULT_NODEPORT_RANGE: PortRange = { min: 30000, max: 32767 };
/** Source ports of SNATed NodePort flows: above Linux's default
 * ip_local_port_range (32768-60999), so the node's own connections never
 * pick one of them. */
export const DEFAULT_SNAT_RANGE: PortRange = { min: 61000, max: 65535 };

/** What the service table needs to expand NodePorts on one node. */
export interface NodePortScope {
  /** This node's name (EndpointSlice endpoints[].nodeName) for externalTrafficPolicy Local. */
  node: string;
  /** InternalIP of every node in the cluster, this one included. */
  nodeIPs: readonly string[];
}

export interface NodePortSettings {
  /** This node's address on the uplink. */
  nodeIP: string;
  portRange?: PortRange;
  snatPortRange?: PortRange;
}

export class NodePortConfigError extends Error {
  readonly code = 'EBF_NODEPORT_CONFIG';
  constructor(message: string) {
    super(`nodePort: ${message}`);
  }
}

/** Fills defaults and checks the settings; throws NodePortConfigError. */
export function resolveNodePortSettings(s: NodePortSettings): Required<NodePortSettings> {
  if (!isIpv4(s.nodeIP) || s.nodeIP === NODEPORT_WILDCARD) throw new NodePortConfigError(`node IP ${s.nodeIP} is not a unicast IPv4 address`);
  const portRange = s.portRange ?? DEFAULT_NODEPORT_RANGE;
  const snatPortRange = s.snatPortRange ?? DEFAULT_SNAT_RANGE;
  for (const [name, r] of [['port range', portRange], ['SNAT port range', snatPortRange]] as const) {
    if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 1 || r.max > 65535 || r.min > r.max) {
      throw new NodePortConfigError(`${name} ${r.min}-${r.max} is not within 1-65535`);
    }
  }
  if (portRange.min <= snatPortRange.max && snatPortRange.min <= portRange.max) {
    throw new NodePortConfigError(`port range ${portRange.min}-${portRange.max} overlaps the SNAT range ${snatPortRange.min}-${snatPortRange.max}`);
  }
  return { nodeIP: s.nodeIP, portRange, snatPortRange };
}

export interface NodeShape {
  metadata: { name: string };
  status?: { addresses?: { type: string; address: string }[] | null } | null;
}

/** The IPv4 InternalIPs of these Nodes, sorted and without duplicates. */
export function nodeInternalIPs(nodes: readonly NodeShape[]): string[] {
  const out = new Set<string>();
  for (const n of nodes) {
    for (const a of n.status?.addresses ?? []) if (a.type === 'InternalIP' && isIpv4(a.address)) out.add(a.address);
  }
  return [...out].sort();
}

const hasNodePorts = (svc: ServiceShape): boolean => svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';

/** Computes the NodePort frontends of one Service on the node of `scope`. */
export function nodePortFrontends(
  svc: ServiceShape,
  slices: readonly EndpointSliceShape[],
  scope: NodePortScope,
  defaultAlgorithm: LbAlgorithm = 'random',
  intern?: Map<string, BackendAddr>,
): Frontend[] {
  if (!hasNodePorts(svc)) return [];
  const { algorithm, affinityTimeout } = selectionOf(svc, defaultAlgorithm);
  const local = svc.spec?.externalTrafficPolicy === 'Local';
  const service = serviceKey(svc.metadata.namespace, svc.metadata.name);
  const out: Frontend[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = sp.nodePort;
    if (!port || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const proto = protoNumber(sp.protocol);
    const portName = sp.name ?? '';
    const all = backendsFor(slices, portName, proto, intern);
    for (const vip of scope.nodeIPs) {
      out.push({ service, portName, vip, port, proto, algorithm, affinityTimeout, ...all });
    }
    const external = local ? backendsFor(slices, portName, proto, intern, scope.node) : all;
    out.push({
      service, portName, vip: NODEPORT_WILDCARD, port, proto, algorithm, affinityTimeout, ...external,
      nodePort: local ? 'Local' : 'Cluster',
    });
  }
  return out;
}
