// Shapes of the non-core built-in objects (apps, batch, discovery, networking,
// coordination, autoscaling, storage, rbac, policy).
import { any, bool, int, intOrStr, keyed, list, mapOf, obj, oneOf, open, quantity, str, strMap, time, type Schema } from './schema.js';
import { conditions, labelSelector, objectMeta, podTemplateSpec, topLevel } from './schemas-core.js';

const rollingUpdate = obj({ maxUnavailable: intOrStr, maxSurge: intOrStr, partition: int });
const jobSpec = obj({
  parallelism: int,
  completions: int,
  activeDeadlineSeconds: int,
  podFailurePolicy: any,
  successPolicy: any,
  backoffLimit: int,
  backoffLimitPerIndex: int,
  maxFailedIndexes: int,
  selector: labelSelector,
  manualSelector: bool,
  template: podTemplateSpec,
  ttlSecondsAfterFinished: int,
  completionMode: str,
  suspend: bool,
  podReplacementPolicy: str,
  managedBy: str,
});
const npPort = obj({ protocol: oneOf('TCP', 'UDP', 'SCTP'), port: intOrStr, endPort: int });
const npPeer = obj({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: obj({ cidr: str, except: list(str) }, ['cidr']) });
const ingressBackend = obj({ service: obj({ name: str, port: obj({ name: str, number: int }) }, ['name']), resource: any });
const policyRule = obj({ verbs: list(str), apiGroups: list(str), resources: list(str), resourceNames: list(str), nonResourceURLs: list(str) }, ['verbs']);
const subject = obj({ kind: str, apiGroup: str, name: str, namespace: str }, ['kind', 'name']);
const roleRef = obj({ apiGroup: str, kind: str, name: str }, ['apiGroup', 'kind', 'name']);
const metricTarget = obj({ type: str, value: quantity, averageValue: quantity, averageUtilization: int });

export const appsSchemas: Record<string, Schema> = {
  Deployment: topLevel({
    spec: obj(
      {
        replicas: int,
        selector: labelSelector,
        template: podTemplateSpec,
        strategy: obj({ type: oneOf('RollingUpdate', 'Recreate'), rollingUpdate }),
        minReadySeconds: int,
        revisionHistoryLimit: int,
        paused: bool,
        progressDeadlineSeconds: int,
      },
      ['selector', 'template'],
    ),
    status: obj({ observedGeneration: int, replicas: int, updatedReplicas: int, readyReplicas: int, availableReplicas: int, unavailableReplicas: int, terminatingReplicas: int, conditions, collisionCount: int }),
  }),
  ReplicaSet: topLevel({
    spec: obj({ replicas: int, minReadySeconds: int, selector: labelSelector, template: podTemplateSpec }, ['selector']),
    status: obj({ replicas: int, fullyLabeledReplicas: int, readyReplicas: int, availableReplicas: int, terminatingReplicas: int, observedGeneration: int, conditions }),
  }),
  StatefulSet: topLevel({
    spec: obj({
      replicas: int,
      selector: labelSelector,
      template: podTemplateSpec,
      volumeClaimTemplates: list(open({ apiVersion: str, kind: str, metadata: objectMeta, spec: any })),
      serviceName: str,
      podManagementPolicy: oneOf('OrderedReady', 'Parallel'),
      updateStrategy: obj({ type: str, rollingUpdate }),
      revisionHistoryLimit: int,
      minReadySeconds: int,
      persistentVolumeClaimRetentionPolicy: any,
      ordinals: obj({ start: int }),
    }),
    status: open({ observedGeneration: int, replicas: int, readyReplicas: int, currentReplicas: int, updatedReplicas: int, availableReplicas: int, currentRevision: str, updateRevision: str, collisionCount: int, conditions }),
  }),
  DaemonSet: topLevel({
    spec: obj({ selector: labelSelector, template: podTemplateSpec, updateStrategy: obj({ type: str, rollingUpdate }), minReadySeconds: int, revisionHistoryLimit: int }, ['selector', 'template']),
    status: open({ currentNumberScheduled: int, numberMisscheduled: int, desiredNumberScheduled: int, numberReady: int, observedGeneration: int, updatedNumberScheduled: int, numberAvailable: int, numberUnavailable: int, collisionCount: int, conditions }),
  }),
  Job: topLevel({
    spec: jobSpec,
    status: open({ conditions, startTime: time, completionTime: time, active: int, succeeded: int, failed: int, terminating: int, ready: int, completedIndexes: str, failedIndexes: str, uncountedTerminatedPods: any }),
  }),
  CronJob: topLevel({
    spec: obj(
      {
        schedule: str,
        timeZone: str,
        startingDeadlineSeconds: int,
        concurrencyPolicy: oneOf('Allow', 'Forbid', 'Replace'),
        suspend: bool,
        jobTemplate: obj({ metadata: objectMeta, spec: jobSpec }),
        successfulJobsHistoryLimit: int,
        failedJobsHistoryLimit: int,
      },
      ['schedule', 'jobTemplate'],
    ),
    status: obj({ active: list(any), lastScheduleTime: time, lastSuccessfulTime: time }),
  }),
  EndpointSlice: topLevel(
    {
      addressType: oneOf('IPv4', 'IPv6', 'FQDN'),
      endpoints: list(
        obj({
          addresses: list(str),
          conditions: obj({ ready: bool, serving: bool, terminating: bool }),
          hostname: str,
          targetRef: open({ kind: str, namespace: str, name: str, uid: str }),
          deprecatedTopology: strMap,
          nodeName: str,
          zone: str,
          hints: any,
        }),
      ),
      ports: list(obj({ name: str, protocol: str, port: int, appProtocol: str })),
    },
    ['addressType', 'endpoints'],
  ),
  NetworkPolicy: topLevel({
    spec: obj({
      podSelector: labelSelector,
      ingress: list(obj({ ports: list(npPort), from: list(npPeer) })),
      egress: list(obj({ ports: list(npPort), to: list(npPeer) })),
      policyTypes: list(oneOf('Ingress', 'Egress')),
    }),
  }),
  Ingress: topLevel({
    spec: obj({
      ingressClassName: str,
      defaultBackend: ingressBackend,
      tls: list(obj({ hosts: list(str), secretName: str })),
      rules: list(obj({ host: str, http: obj({ paths: list(obj({ path: str, pathType: str, backend: ingressBackend }, ['pathType', 'backend'])) }, ['paths']) })),
    }),
    status: obj({ loadBalancer: any }),
  }),
  Lease: topLevel({
    spec: obj({ holderIdentity: str, leaseDurationSeconds: int, acquireTime: time, renewTime: time, leaseTransitions: int, strategy: str, preferredHolder: str }),
  }),
  HorizontalPodAutoscaler: topLevel({
    spec: obj(
      {
        scaleTargetRef: obj({ kind: str, name: str, apiVersion: str }, ['kind', 'name']),
        minReplicas: int,
        maxReplicas: int,
        metrics: list(open({ type: str, resource: obj({ name: str, target: metricTarget }), pods: any, object: any, external: any, containerResource: any })),
        behavior: any,
      },
      ['scaleTargetRef', 'maxReplicas'],
    ),
    status: obj({ observedGeneration: int, lastScaleTime: time, currentReplicas: int, desiredReplicas: int, currentMetrics: list(any), conditions }),
  }),
  'HorizontalPodAutoscaler.v1': topLevel({
    spec: obj({ scaleTargetRef: obj({ kind: str, name: str, apiVersion: str }, ['kind', 'name']), minReplicas: int, maxReplicas: int, targetCPUUtilizationPercentage: int }, ['scaleTargetRef', 'maxReplicas']),
    status: obj({ observedGeneration: int, lastScaleTime: time, currentReplicas: int, desiredReplicas: int, currentCPUUtilizationPercentage: int }),
  }),
  StorageClass: topLevel(
    { provisioner: str, parameters: strMap, reclaimPolicy: str, mountOptions: list(str), allowVolumeExpansion: bool, volumeBindingMode: str, allowedTopologies: any },
    ['provisioner'],
  ),
  Role: topLevel({ rules: list(policyRule) }),
  ClusterRole: topLevel({ rules: list(policyRule), aggregationRule: obj({ clusterRoleSelectors: list(labelSelector) }) }),
  RoleBinding: topLevel({ subjects: list(subject), roleRef }, ['roleRef']),
  ClusterRoleBinding: topLevel({ subjects: list(subject), roleRef }, ['roleRef']),
  PodDisruptionBudget: topLevel({
    spec: obj({ minAvailable: intOrStr, selector: labelSelector, maxUnavailable: intOrStr, unhealthyPodEvictionPolicy: str }),
    status: obj({ observedGeneration: int, disruptedPods: mapOf(time), disruptionsAllowed: int, currentHealthy: int, desiredHealthy: int, expectedPods: int, conditions }),
  }),
  Scale: topLevel({ spec: obj({ replicas: int }), status: obj({ replicas: int, selector: str }) }),
  SelfSubjectAccessReview: topLevel({ spec: obj({ resourceAttributes: any, nonResourceAttributes: any }), status: any }),
  SelfSubjectReview: topLevel({ status: any }),
  TokenRequest: topLevel({ spec: obj({ audiences: list(str), expirationSeconds: int, boundObjectRef: any }), status: any }),
  Binding: topLevel({ target: open({ kind: str, name: str, namespace: str, apiVersion: str, uid: str }) }, ['target']),
};
