// NodeResourcesFit: Filter checks the pod's requests (init-container max
// rule, sidecars, overhead) against allocatable minus what the node's pods
// already request, for pods, cpu, memory, ephemeral-storage and extended
// resources; Score is LeastAllocated over cpu and memory.
import { MaxNodeScore, type Plugin } from '../framework.js';
import type { NodeInfo } from '../nodeinfo.js';
import { ResourceCPU, ResourceMemory } from '../resources.js';
import type { PodInfo } from '../podinfo.js';
import { unschedulable } from '../status.js';

export const Name = 'NodeResourcesFit';
export const ReasonTooManyPods = 'Too many pods';

export function reasonInsufficient(resource: string): string {
  return `Insufficient ${resource}`;
}

export interface NodeResourcesFitArgs {
  /** Resources LeastAllocated scores, with weights (default cpu 1, memory 1). */
  resources?: { name: string; weight: number }[];
}

/** Every resource the node lacks for the pod; empty when it fits. */
export function insufficientResources(pod: PodInfo, node: NodeInfo): string[] {
  const out: string[] = [];
  const alloc = node.allocatable;
  const used = node.requested;
  if (used.pods + 1 > alloc.pods) out.push(ReasonTooManyPods);
  const r = pod.requests;
  if (r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && r.scalar.size === 0) return out;
  if (r.milliCPU > 0 && r.milliCPU > alloc.milliCPU - used.milliCPU) out.push(reasonInsufficient('cpu'));
  if (r.memory > 0 && r.memory > alloc.memory - used.memory) out.push(reasonInsufficient('memory'));
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) out.push(reasonInsufficient('ephemeral-storage'));
  for (const [name, q] of r.scalar) {
    if (q === 0) continue;
    if (q > (alloc.scalar.get(name) ?? 0) - (used.scalar.get(name) ?? 0)) out.push(reasonInsufficient(name));
  }
  return out;
}

function amount(res: NodeInfo['allocatable'], name: string): number {
  if (name === ResourceCPU) return res.milliCPU;
  if (name === ResourceMemory) return res.memory;
  if (name === 'ephemeral-storage') return res.ephemeralStorage;
  return res.scalar.get(name) ?? 0;
}

/** LeastAllocated: mean over resources of (allocatable - requested) * 100 / allocatable. */
export function leastAllocated(pod: PodInfo, node: NodeInfo, resources: { name: string; weight: number }[]): number {
  let sum = 0;
  let weights = 0;
  for (const { name, weight } of resources) {
    const cap = amount(node.allocatable, name);
    const req = amount(node.nonZeroRequested, name) + amount(pod.nonZeroRequests, name);
    let s = 0;
    if (cap > 0 && req <= cap) s = Math.trunc(((cap - req) * MaxNodeScore) / cap);
    sum += s * weight;
    weights += weight;
  }
  return weights === 0 ? 0 : Math.trunc(sum / weights);
}

export function nodeResourcesFit(args?: unknown): Plugin {
  const resources = (args as NodeResourcesFitArgs | undefined)?.resources ?? [
    { name: ResourceCPU, weight: 1 },
    { name: ResourceMemory, weight: 1 },
  ];
  return {
    name: Name,
    filter(_state, pod, node) {
      const missing = insufficientResources(pod, node);
      return missing.length ? unschedulable(...missing) : null;
    },
    score(_state, pod, node) {
      return leastAllocated(pod, node, resources);
    },
  };
}
