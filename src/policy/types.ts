// The Kubernetes objects the policy compiler reads, shaped like their JSON
// (networking.k8s.io/v1 NetworkPolicy, core/v1 Pod and Namespace). Only the
// fields policy needs; self-contained on purpose so src/api can evolve apart.

export type Labels = Record<string, string>;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Labels;
  uid?: string;
  resourceVersion?: string;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector | null;
  namespaceSelector?: LabelSelector | null;
  ipBlock?: IPBlock | null;
}

export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[] | null;
  ports?: NetworkPolicyPort[] | null;
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[] | null;
  ports?: NetworkPolicyPort[] | null;
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyIngressRule[] | null;
  egress?: NetworkPolicyEgressRule[] | null;
}

export interface NetworkPolicy {
  apiVersion?: 'networking.k8s.io/v1';
  kind?: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: NetworkPolicySpec;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
}

export interface Container {
  name: string;
  ports?: ContainerPort[];
}

export interface Pod {
  apiVersion?: 'v1';
  kind?: 'Pod';
  metadata: ObjectMeta;
  spec: { containers: Container[]; hostNetwork?: boolean; nodeName?: string };
  status?: { podIP?: string; podIPs?: { ip: string }[]; phase?: string };
}

export interface Namespace {
  apiVersion?: 'v1';
  kind?: 'Namespace';
  metadata: ObjectMeta;
}

/** Everything the compiler and the reference model read. */
export interface ClusterState {
  policies: NetworkPolicy[];
  pods: Pod[];
  namespaces: Namespace[];
}

/** IP protocol numbers the dataplane understands; 0 = any. */
export type ProtoNumber = 0 | 6 | 17 | 132;

export const PROTO: Record<Protocol, 6 | 17 | 132> = { TCP: 6, UDP: 17, SCTP: 132 };

/** `namespace/name`, the key we use for pods and policies. */
export function objectKey(meta: ObjectMeta): string {
  return `${meta.namespace ?? 'default'}/${meta.name}`;
}

/** The pod's IPv4 addresses (status.podIPs, falling back to status.podIP). */
export function podIPv4s(pod: Pod): string[] {
  const all = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return [...new Set(all)].filter((ip) => !ip.includes(':'));
}
