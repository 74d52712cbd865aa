// The in-tree plugin registry and the default profile: kube-scheduler's
// filter order and score weights for the plugins ebbflow implements.
import { Registry, type Profile } from '../framework.js';
import { balancedAllocation } from './balancedallocation.js';
import { interPodAffinity } from './interpodaffinity.js';
import { nodeAffinity } from './nodeaffinity.js';
import { nodeName } from './nodename.js';
import { nodePorts } from './nodeports.js';
import { nodeResourcesFit } from './noderesourcesfit.js';
import { nodeUnschedulable } from './nodeunschedulable.js';
import { podTopologySpread } from './podtopologyspread.js';
import { taintToleration } from './tainttoleration.js';

/** A registry with every in-tree plugin and kube-scheduler's default score weights. */
export function defaultRegistry(): Registry {
  return new Registry()
    .register('NodeUnschedulable', nodeUnschedulable, 0)
    .register('NodeName', nodeName, 0)
    .register('TaintToleration', taintToleration, 3)
    .register('NodeAffinity', nodeAffinity, 2)
    .register('NodePorts', nodePorts, 0)
    .register('NodeResourcesFit', nodeResourcesFit, 1)
    .register('PodTopologySpread', podTopologySpread, 2)
    .register('InterPodAffinity', interPodAffinity, 2)
    .register('NodeResourcesBalancedAllocation', balancedAllocation, 1);
}

/** The default-scheduler profile, plugins in kube-scheduler's order. */
export function defaultProfile(): Profile {
  return {
    schedulerName: 'default-scheduler',
    plugins: ['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity', 'NodeResourcesBalancedAllocation'].map((name) => ({ name })),
  };
}
