// NodeName: a pod that names its node (spec.nodeName) fits only that node.
import type { Plugin } from '../framework.js';
import { constant } from '../status.js';

export const Name = 'NodeName';
export const ReasonNodeName = "node(s) didn't match the requested node name";
const rejected = constant('UnschedulableAndUnresolvable', Name, ReasonNodeName);

export function nodeName(): Plugin {
  return {
    name: Name,
    filter(_state, pod, node) {
      const want = pod.pod.spec.nodeName;
      return !want || want === node.name ? null : rejected;
    },
  };
}
