// apps/v1, batch/v1, discovery, networking, coordination, autoscaling,
// policy, rbac and storage object types.
import type { PodTemplateSpec } from './core.js';
import type { Condition, KubeObject, LabelSelector } from './meta.js';

export interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    strategy?: { type?: 'RollingUpdate' | 'Recreate'; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
  };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number; unavailableReplicas?: number; conditions?: Condition[]; collisionCount?: number };
}

export interface ReplicaSet extends KubeObject {
  spec: { replicas?: number; selector: LabelSelector; template?: PodTemplateSpec; minReadySeconds?: number };
  status?: { replicas: number; fullyLabeledReplicas?: number; readyReplicas?: number; availableReplicas?: number; observedGeneration?: number; conditions?: Condition[] };
}

export interface StatefulSet extends KubeObject {
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplateSpec; serviceName?: string; podManagementPolicy?: string; updateStrategy?: Record<string, unknown>; volumeClaimTemplates?: KubeObject[]; revisionHistoryLimit?: number; minReadySeconds?: number };
  status?: { replicas: number; readyReplicas?: number; currentReplicas?: number; updatedReplicas?: number; availableReplicas?: number; observedGeneration?: number; currentRevision?: string; updateRevision?: string };
}

export interface DaemonSet extends KubeObject {
  spec: { selector: LabelSelector; template: PodTemplateSpec; updateStrategy?: Record<string, unknown>; minReadySeconds?: number; revisionHistoryLimit?: number };
  status?: { currentNumberScheduled: number; numberMisscheduled: number; desiredNumberScheduled: number; numberReady: number; updatedNumberScheduled?: number; numberAvailable?: number; observedGeneration?: number };
}

export interface Job extends KubeObject {
  spec: { template: PodTemplateSpec; parallelism?: number; completions?: number; backoffLimit?: number; activeDeadlineSeconds?: number; ttlSecondsAfterFinished?: number; selector?: LabelSelector; manualSelector?: boolean; suspend?: boolean; completionMode?: string };
  status?: { active?: number; succeeded?: number; failed?: number; startTime?: string; completionTime?: string; conditions?: Condition[] };
}

export interface CronJob extends KubeObject {
  spec: { schedule: string; timeZone?: string; jobTemplate: { metadata?: Record<string, unknown>; spec: Job['spec'] }; concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace'; suspend?: boolean; successfulJobsHistoryLimit?: number; failedJobsHistoryLimit?: number; startingDeadlineSeconds?: number };
  status?: { active?: Record<string, unknown>[]; lastScheduleTime?: string; lastSuccessfulTime?: string };
}

export interface Endpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

export interface EndpointSlice extends KubeObject {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[];
  ports?: { name?: string; port?: number; protocol?: string; appProtocol?: string }[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

export interface Ingress extends KubeObject {
  spec?: { ingressClassName?: string; defaultBackend?: Record<string, unknown>; tls?: { hosts?: string[]; secretName?: string }[]; rules?: { host?: string; http?: { paths: { path?: string; pathType: string; backend: Record<string, unknown> }[] } }[] };
  status?: { loadBalancer?: Record<string, unknown> };
}

export interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

export interface HorizontalPodAutoscaler extends KubeObject {
  spec: { scaleTargetRef: { apiVersion?: string; kind: string; name: string }; minReplicas?: number; maxReplicas: number; metrics?: Record<string, unknown>[]; behavior?: Record<string, unknown> };
  status?: { currentReplicas?: number; desiredReplicas: number; currentMetrics?: Record<string, unknown>[]; conditions?: Condition[]; lastScaleTime?: string; observedGeneration?: number };
}

export interface PodDisruptionBudget extends KubeObject {
  spec?: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: LabelSelector; unhealthyPodEvictionPolicy?: string };
  status?: { currentHealthy: number; desiredHealthy: number; disruptionsAllowed: number; expectedPods: number; observedGeneration?: number; conditions?: Condition[] };
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Role extends KubeObject {
  rules?: PolicyRule[];
}

export interface ClusterRole extends Role {
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
}

export interface RoleBinding extends KubeObject {
  subjects?: { kind: string; name: string; namespace?: string; apiGroup?: string }[];
  roleRef: { apiGroup: string; kind: string; name: string };
}

export interface StorageClass extends KubeObject {
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: string;
  volumeBindingMode?: string;
  allowVolumeExpansion?: boolean;
}

/** autoscaling/v1 Scale, served by the scale subresource. */
export interface Scale extends KubeObject {
  spec: { replicas?: number };
  status?: { replicas: number; selector?: string };
}
