// The kubelet's Node object and its heartbeat: registration (labels,
// podCIDR, capacity from the host), a status whose Ready condition follows
// CRI Status (runtime and network ready), and the node Lease in
// kube-node-lease renewed on an interval.
import { cpus, hostname as osHostname, release, totalmem } from 'node:os';
import type { Node } from '../api/core.js';
import type { Condition, KubeObject } from '../api/meta.js';
import type { Client } from '../client/client.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import type { RuntimeStatus, VersionResponse } from './cri/types.js';

export const KUBELET_VERSION = 'v1.32.0-ebbflow';
export const LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const microNow = () => new Date().toISOString().replace(/Z$/, '000Z');

export interface NodeIdentity {
  name: string;
  podCIDR: string;
  nodeIP: string;
  maxPods: number;
}

/** Capacity from the host: CPUs, memory in Ki, pods. */
export function hostCapacity(maxPods: number): Record<string, string> {
  return { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: String(maxPods), 'ephemeral-storage': '10Gi' };
}

/** Why the node is or is not Ready, from the runtime's conditions. */
export function readyCondition(status: RuntimeStatus | undefined, err: unknown, previous?: Condition): Condition {
  const t = now();
  let ok = false;
  let reason = 'KubeletReady';
  let message = 'kubelet is posting ready status';
  if (!status) {
    reason = 'KubeletNotReady';
    message = `container runtime is down: ${String((err as Error | undefined)?.message ?? err)}`;
  } else {
    const bad = status.conditions.filter((c) => (c.type === 'RuntimeReady' || c.type === 'NetworkReady') && !c.status);
    const missing = ['RuntimeReady', 'NetworkReady'].filter((ty) => !status.conditions.some((c) => c.type === ty));
    ok = bad.length === 0 && missing.length === 0;
    if (!ok) {
      reason = 'KubeletNotReady';
      message = [...bad.map((c) => `${c.type}=false reason:${c.reason} message:${c.message}`), ...missing.map((m) => `${m} missing`)].join('; ');
    }
  }
  const st = ok ? 'True' : 'False';
  return { type: 'Ready', status: st, reason, message, lastHeartbeatTime: t, lastTransitionTime: previous?.status === st ? previous.lastTransitionTime : t };
}

/** The Node status the kubelet posts. */
export function nodeStatus(id: NodeIdentity, version: VersionResponse | undefined, ready: Condition, previous?: Node, kubeletPort?: number): NonNullable<Node['status']> & { daemonEndpoints?: { kubeletEndpoint: { Port: number } } } {
  const t = now();
  const prev = (type: string) => previous?.status?.conditions?.find((c) => c.type === type);
  const quiet = (type: string, reason: string, message: string): Condition => ({
    type, status: 'False', reason, message, lastHeartbeatTime: t, lastTransitionTime: prev(type)?.status === 'False' ? prev(type)!.lastTransitionTime : t,
  });
  const capacity = hostCapacity(id.maxPods);
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      quiet('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      quiet('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      quiet('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      ready,
    ],
    addresses: [{ type: 'InternalIP', address: id.nodeIP }, { type: 'Hostname', address: id.name }],
    ...(kubeletPort ? { daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } } } : {}),
    nodeInfo: {
      machineID: '', systemUUID: '', bootID: '', kernelVersion: release(), osImage: `ebbflow on ${osHostname()}`,
      containerRuntimeVersion: version ? `${version.runtimeName}://${version.runtimeVersion}` : '',
      kubeletVersion: KUBELET_VERSION, kubeProxyVersion: '', operatingSystem: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

/** Creates the Node (or adopts an existing one, filling podCIDR when unset); returns it. */
export async function registerNode(client: Client, id: NodeIdentity): Promise<Node> {
  const labels = { 'kubernetes.io/hostname': id.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch };
  try {
    return await client.create<Node>(resources.nodes, undefined, { metadata: { name: id.name, labels }, spec: { podCIDR: id.podCIDR, podCIDRs: [id.podCIDR] } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const existing = await client.get<Node>(resources.nodes, undefined, id.name);
  if (!existing.spec?.podCIDR) {
    return client.patch<Node>(resources.nodes, undefined, id.name, { metadata: { labels }, spec: { podCIDR: id.podCIDR, podCIDRs: [id.podCIDR] } }, 'merge');
  }
  return existing;
}

/** Posts the node status (merge patch of the status subresource). */
export async function postNodeStatus(client: Client, name: string, status: NonNullable<Node['status']>): Promise<Node> {
  return client.patch<Node>(resources.nodes, undefined, name, { status }, 'merge', 'status');
}

interface Lease extends KubeObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string };
}

/** Creates or renews the node's Lease; its owner is the Node so it goes with it. */
export async function renewLease(client: Client, node: Node): Promise<void> {
  const name = node.metadata.name!;
  const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microNow() };
  try {
    await client.patch<Lease>(resources.leases, LEASE_NAMESPACE, name, { spec }, 'merge');
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await client.create<Lease>(resources.leases, LEASE_NAMESPACE, {
      metadata: { name, namespace: LEASE_NAMESPACE, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid!, controller: false, blockOwnerDeletion: false }] },
      spec: { ...spec, acquireTime: microNow() },
    });
  }
}
