// NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory would
// be used in similar proportions after placing the pod:
// score = (1 - standard deviation of requested/allocatable) * 100.
import { MaxNodeScore, type Plugin } from '../framework.js';
import type { NodeInfo } from '../nodeinfo.js';
import type { PodInfo } from '../podinfo.js';
import { skip } from '../status.js';

export const Name = 'NodeResourcesBalancedAllocation';

function fraction(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 1;
  return Math.min(1, requested / allocatable);
}

/** The balance score for cpu and memory, using real requests (no scoring defaults). */
export function balancedScore(pod: PodInfo, node: NodeInfo): number {
  const cpu = fraction(node.requested.milliCPU + pod.requests.milliCPU, node.allocatable.milliCPU);
  const mem = fraction(node.requested.memory + pod.requests.memory, node.allocatable.memory);
  const std = Math.abs(cpu - mem) / 2;
  return Math.trunc((1 - std) * MaxNodeScore);
}

export function balancedAllocation(): Plugin {
  return {
    name: Name,
    preScore(_state, pod) {
      // A pod that requests nothing cannot change any node's balance.
      return pod.requests.milliCPU === 0 && pod.requests.memory === 0 ? skip : null;
    },
    score(_state, pod, node) {
      return balancedScore(pod, node);
    },
  };
}
