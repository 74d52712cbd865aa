// NodeUnschedulable: rejects nodes with spec.unschedulable unless the pod
// tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
import type { Plugin } from '../framework.js';
import { tolerates } from '../selectors.js';
import { constant } from '../status.js';
import type { Taint } from '../types.js';

export const Name = 'NodeUnschedulable';
export const ReasonUnschedulable = 'node(s) were unschedulable';
const rejected = constant('UnschedulableAndUnresolvable', Name, ReasonUnschedulable);
const unschedulableTaint: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export function nodeUnschedulable(): Plugin {
  return {
    name: Name,
    filter(_state, pod, node) {
      if (!node.node.spec?.unschedulable) return null;
      for (const t of pod.tolerations) if (tolerates(t, unschedulableTaint)) return null;
      return rejected;
    },
  };
}
