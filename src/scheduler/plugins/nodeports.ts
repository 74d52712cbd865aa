// NodePorts: rejects nodes where a requested hostPort (protocol, IP, port)
// is already held; 0.0.0.0 conflicts with every address.
import type { Plugin } from '../framework.js';
import { portInUse } from '../nodeinfo.js';
import { constant, skip } from '../status.js';

export const Name = 'NodePorts';
export const ReasonNodePorts = "node(s) didn't have free ports for the requested pod ports";
const rejected = constant('Unschedulable', Name, ReasonNodePorts);

export function nodePorts(): Plugin {
  return {
    name: Name,
    preFilter(_state, pod) {
      return pod.hostPorts.length === 0 ? { status: skip } : null;
    },
    filter(_state, pod, node) {
      if (node.usedPorts.size === 0) return null;
      for (const hp of pod.hostPorts) if (portInUse(node, hp)) return rejected;
      return null;
    },
  };
}
