// Builders for synthetic nodes and pods, shared by the unit tests, the
// scheduler benchmark and anyone simulating a cluster in-process.
import type { Affinity, Container, Node, Pod, ResourceList, Taint, Toleration, TopologySpreadConstraint } from './types.js';
import { LabelHostname } from './types.js';

export interface NodeSpec {
  name: string;
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  extra?: ResourceList;
}

/** A Ready-looking node with allocatable cpu/memory/pods and a hostname label. */
export function makeNode(s: NodeSpec): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: s.name, labels: { [LabelHostname]: s.name, ...s.labels } },
    spec: { ...(s.unschedulable ? { unschedulable: true } : {}), ...(s.taints ? { taints: s.taints } : {}) },
    status: { allocatable: { cpu: s.cpu ?? '4', memory: s.memory ?? '16Gi', pods: String(s.pods ?? 110), 'ephemeral-storage': '100Gi', ...s.extra } },
  };
}

export interface PodSpecLite {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  requests?: ResourceList;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  spread?: TopologySpreadConstraint[];
  hostPorts?: number[];
  initContainers?: Container[];
  overhead?: ResourceList;
  priority?: number;
}

/** A pending pod with one container requesting cpu/memory. */
export function makePod(s: PodSpecLite): Pod {
  const requests: ResourceList = { ...(s.cpu ? { cpu: s.cpu } : {}), ...(s.memory ? { memory: s.memory } : {}), ...s.requests };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: s.name, namespace: s.namespace ?? 'default', labels: s.labels ?? {} },
    spec: {
      ...(s.nodeName ? { nodeName: s.nodeName } : {}),
      ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
      ...(s.affinity ? { affinity: s.affinity } : {}),
      ...(s.tolerations ? { tolerations: s.tolerations } : {}),
      ...(s.spread ? { topologySpreadConstraints: s.spread } : {}),
      ...(s.initContainers ? { initContainers: s.initContainers } : {}),
      ...(s.overhead ? { overhead: s.overhead } : {}),
      ...(s.priority !== undefined ? { priority: s.priority } : {}),
      containers: [
        {
          name: 'app',
          image: 'registry.k8s.io/pause:3.10',
          ...(Object.keys(requests).length ? { resources: { requests } } : {}),
          ...(s.hostPorts ? { ports: s.hostPorts.map((p) => ({ containerPort: p, hostPort: p })) } : {}),
        },
      ],
    },
  };
}
