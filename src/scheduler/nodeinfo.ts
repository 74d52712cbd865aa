// Per-node scheduling state: the node object, its allocatable resources,
// the sum of what its pods request, and the host ports they hold.
import { addInto, emptyResources, fromList, type Resources } from './resources.js';
import type { HostPort, PodInfo } from './podinfo.js';
import type { Node, Taint } from './types.js';

export interface NodeInfo {
  node: Node;
  readonly name: string;
  labels: Record<string, string>;
  taints: Taint[];
  allocatable: Resources;
  readonly requested: Resources;
  /** Requests with scoring defaults for containers that request nothing. */
  readonly nonZeroRequested: Resources;
  readonly pods: Map<string, PodInfo>;
  /** "protocol/port" -> host IP -> number of pods holding it. */
  readonly usedPorts: Map<string, Map<string, number>>;
  /** Pods on this node carrying any pod (anti-)affinity term. */
  podsWithAffinity: number;
  /** Position in the snapshot's node list, for round-robin sampling. */
  index: number;
}

export function newNodeInfo(node: Node, index: number): NodeInfo {
  const info: NodeInfo = {
    node,
    name: node.metadata.name,
    labels: {},
    taints: [],
    allocatable: emptyResources(),
    requested: emptyResources(),
    nonZeroRequested: emptyResources(),
    pods: new Map(),
    usedPorts: new Map(),
    podsWithAffinity: 0,
    index,
  };
  setNode(info, node);
  return info;
}

/** Replaces the node object, keeping the pods accounted on it. */
export function setNode(info: NodeInfo, node: Node): void {
  info.node = node;
  info.labels = node.metadata.labels ?? {};
  info.taints = node.spec?.taints ?? [];
  info.allocatable = fromList(node.status?.allocatable ?? node.status?.capacity);
}

function hasAffinity(p: PodInfo): boolean {
  return p.requiredAffinity.length + p.requiredAntiAffinity.length + p.preferredAffinity.length + p.preferredAntiAffinity.length > 0;
}

/** Accounts a pod on the node (sign 1) or releases it (sign -1). */
export function accountPod(info: NodeInfo, p: PodInfo, sign: 1 | -1): void {
  if (sign === 1) info.pods.set(p.key, p);
  else info.pods.delete(p.key);
  addInto(info.requested, p.requests, sign);
  addInto(info.nonZeroRequested, p.nonZeroRequests, sign);
  info.requested.pods += sign;
  info.nonZeroRequested.pods += sign;
  if (hasAffinity(p)) info.podsWithAffinity += sign;
  for (const hp of p.hostPorts) {
    const k = `${hp.protocol}/${hp.port}`;
    let ips = info.usedPorts.get(k);
    if (!ips) info.usedPorts.set(k, (ips = new Map()));
    const n = (ips.get(hp.ip) ?? 0) + sign;
    if (n <= 0) ips.delete(hp.ip);
    else ips.set(hp.ip, n);
    if (ips.size === 0) info.usedPorts.delete(k);
  }
}

/** Whether a wanted host port collides with one in use (0.0.0.0 collides with every IP). */
export function portInUse(info: NodeInfo, hp: HostPort): boolean {
  const ips = info.usedPorts.get(`${hp.protocol}/${hp.port}`);
  if (!ips) return false;
  if (hp.ip === '0.0.0.0') return true;
  return ips.has(hp.ip) || ips.has('0.0.0.0');
}
