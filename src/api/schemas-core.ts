// Shapes of metadata and core/v1 objects, in the schema language of schema.ts.
import { any, bool, int, intOrStr, keyed, list, mapOf, obj, oneOf, open, quantity, set, str, strMap, time, type Schema } from './schema.js';

export const labelSelector = obj({
  matchLabels: strMap,
  matchExpressions: list(obj({ key: str, operator: str, values: list(str) }, ['key', 'operator'])),
});

export const objectMeta = obj({
  name: str,
  generateName: str,
  namespace: str,
  selfLink: str,
  uid: str,
  resourceVersion: str,
  generation: int,
  creationTimestamp: time,
  deletionTimestamp: time,
  deletionGracePeriodSeconds: int,
  labels: strMap,
  annotations: strMap,
  ownerReferences: keyed(obj({ apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool }, ['apiVersion', 'kind', 'name', 'uid']), 'uid'),
  finalizers: set(str),
  managedFields: list(obj({ manager: str, operation: str, apiVersion: str, time, fieldsType: str, fieldsV1: any, subresource: str })),
});

/** Top-level object: apiVersion, kind, metadata plus the given fields. */
export function topLevel(props: Record<string, Schema>, required?: string[]): Schema {
  return obj({ apiVersion: str, kind: str, metadata: objectMeta, ...props }, required);
}

const resourceList = mapOf(quantity);
const keyRef = obj({ name: str, key: str, optional: bool }, ['key']);
const envVar = obj(
  {
    name: str,
    value: str,
    valueFrom: obj({
      configMapKeyRef: keyRef,
      secretKeyRef: keyRef,
      fieldRef: obj({ apiVersion: str, fieldPath: str }, ['fieldPath']),
      resourceFieldRef: obj({ containerName: str, resource: str, divisor: quantity }, ['resource']),
    }),
  },
  ['name'],
);
const handler = {
  exec: obj({ command: list(str) }),
  httpGet: obj({ path: str, port: intOrStr, host: str, scheme: str, httpHeaders: list(obj({ name: str, value: str })) }, ['port']),
  tcpSocket: obj({ port: intOrStr, host: str }, ['port']),
  grpc: obj({ port: int, service: str }, ['port']),
};
const probe = obj({
  ...handler,
  initialDelaySeconds: int,
  timeoutSeconds: int,
  periodSeconds: int,
  successThreshold: int,
  failureThreshold: int,
  terminationGracePeriodSeconds: int,
});
const lifecycleHandler = obj({ ...handler, sleep: obj({ seconds: int }) });
const keyToPath = list(obj({ key: str, path: str, mode: int }, ['key', 'path']));

export const container = obj(
  {
    name: str,
    image: str,
    command: list(str),
    args: list(str),
    workingDir: str,
    ports: keyed(obj({ name: str, containerPort: int, hostPort: int, hostIP: str, protocol: oneOf('TCP', 'UDP', 'SCTP') }, ['containerPort']), 'containerPort', 'protocol'),
    envFrom: list(obj({ prefix: str, configMapRef: obj({ name: str, optional: bool }), secretRef: obj({ name: str, optional: bool }) })),
    env: keyed(envVar, 'name'),
    resources: obj({ limits: resourceList, requests: resourceList, claims: list(obj({ name: str, request: str })) }),
    resizePolicy: list(obj({ resourceName: str, restartPolicy: str })),
    restartPolicy: str,
    volumeMounts: keyed(obj({ name: str, mountPath: str, readOnly: bool, subPath: str, subPathExpr: str, mountPropagation: str, recursiveReadOnly: str }, ['name', 'mountPath']), 'mountPath'),
    volumeDevices: keyed(obj({ name: str, devicePath: str }), 'devicePath'),
    livenessProbe: probe,
    readinessProbe: probe,
    startupProbe: probe,
    lifecycle: obj({ postStart: lifecycleHandler, preStop: lifecycleHandler }),
    terminationMessagePath: str,
    terminationMessagePolicy: str,
    imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
    securityContext: any,
    stdin: bool,
    stdinOnce: bool,
    tty: bool,
  },
  ['name'],
);

const volume = open({
  name: str,
  emptyDir: obj({ medium: str, sizeLimit: quantity }),
  configMap: obj({ name: str, items: keyToPath, defaultMode: int, optional: bool }),
  secret: obj({ secretName: str, items: keyToPath, defaultMode: int, optional: bool }),
  hostPath: obj({ path: str, type: str }, ['path']),
  persistentVolumeClaim: obj({ claimName: str, readOnly: bool }, ['claimName']),
  projected: any,
  downwardAPI: any,
});

export const podSpec = obj(
  {
    volumes: keyed(volume, 'name'),
    initContainers: keyed(container, 'name'),
    containers: keyed(container, 'name'),
    ephemeralContainers: keyed(open({ name: str }), 'name'),
    restartPolicy: oneOf('Always', 'OnFailure', 'Never'),
    terminationGracePeriodSeconds: int,
    activeDeadlineSeconds: int,
    dnsPolicy: str,
    nodeSelector: strMap,
    serviceAccountName: str,
    serviceAccount: str,
    automountServiceAccountToken: bool,
    nodeName: str,
    hostNetwork: bool,
    hostPID: bool,
    hostIPC: bool,
    shareProcessNamespace: bool,
    securityContext: any,
    imagePullSecrets: keyed(obj({ name: str }), 'name'),
    hostname: str,
    subdomain: str,
    affinity: any,
    schedulerName: str,
    tolerations: list(obj({ key: str, operator: str, value: str, effect: str, tolerationSeconds: int })),
    hostAliases: keyed(obj({ ip: str, hostnames: list(str) }), 'ip'),
    priorityClassName: str,
    priority: int,
    dnsConfig: any,
    readinessGates: list(obj({ conditionType: str })),
    runtimeClassName: str,
    enableServiceLinks: bool,
    preemptionPolicy: str,
    overhead: resourceList,
    topologySpreadConstraints: keyed(open({ topologyKey: str, whenUnsatisfiable: str, maxSkew: int, labelSelector }), 'topologyKey', 'whenUnsatisfiable'),
    setHostnameAsFQDN: bool,
    os: obj({ name: str }),
    hostUsers: bool,
    schedulingGates: keyed(obj({ name: str }), 'name'),
    resourceClaims: keyed(open({ name: str }), 'name'),
    resources: any,
  },
  ['containers'],
);

const condition = open({ type: str, status: str, lastTransitionTime: time, lastProbeTime: time, lastHeartbeatTime: time, lastUpdateTime: time, reason: str, message: str, observedGeneration: int });
export const conditions = keyed(condition, 'type');

const containerStatus = open({ name: str, ready: bool, restartCount: int, image: str, imageID: str, containerID: str, started: bool, state: any, lastState: any });

export const podTemplateSpec = obj({ metadata: objectMeta, spec: podSpec });

export const podStatus = obj({
  phase: str,
  conditions,
  message: str,
  reason: str,
  nominatedNodeName: str,
  hostIP: str,
  hostIPs: keyed(obj({ ip: str }), 'ip'),
  podIP: str,
  podIPs: keyed(obj({ ip: str }), 'ip'),
  startTime: time,
  initContainerStatuses: list(containerStatus),
  containerStatuses: list(containerStatus),
  ephemeralContainerStatuses: list(containerStatus),
  qosClass: str,
  resize: str,
  resourceClaimStatuses: any,
});

const servicePort = obj({ name: str, protocol: oneOf('TCP', 'UDP', 'SCTP'), appProtocol: str, port: int, targetPort: intOrStr, nodePort: int }, ['port']);

const objectRef = open({ kind: str, namespace: str, name: str, uid: str, apiVersion: str, resourceVersion: str, fieldPath: str });
const endpointAddress = obj({ ip: str, hostname: str, nodeName: str, targetRef: objectRef }, ['ip']);

const loadBalancerStatus = obj({ ingress: list(open({ ip: str, hostname: str, ipMode: str })) });

export const coreSchemas: Record<string, Schema> = {
  Namespace: topLevel({ spec: obj({ finalizers: list(str) }), status: obj({ phase: str, conditions }) }),
  Pod: topLevel({ spec: podSpec, status: podStatus }),
  Service: topLevel({
    spec: obj({
      ports: keyed(servicePort, 'port', 'protocol'),
      selector: strMap,
      clusterIP: str,
      clusterIPs: list(str),
      type: oneOf('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
      externalIPs: list(str),
      sessionAffinity: oneOf('None', 'ClientIP'),
      loadBalancerIP: str,
      loadBalancerSourceRanges: list(str),
      externalName: str,
      externalTrafficPolicy: oneOf('Cluster', 'Local'),
      healthCheckNodePort: int,
      publishNotReadyAddresses: bool,
      sessionAffinityConfig: any,
      ipFamilies: list(str),
      ipFamilyPolicy: str,
      allocateLoadBalancerNodePorts: bool,
      loadBalancerClass: str,
      internalTrafficPolicy: oneOf('Cluster', 'Local'),
      trafficDistribution: str,
    }),
    status: obj({ loadBalancer: loadBalancerStatus, conditions }),
  }),
  Endpoints: topLevel({
    subsets: list(obj({ addresses: list(endpointAddress), notReadyAddresses: list(endpointAddress), ports: list(obj({ name: str, port: int, protocol: str, appProtocol: str })) })),
  }),
  ConfigMap: topLevel({ data: strMap, binaryData: strMap, immutable: bool }),
  Secret: topLevel({ type: str, data: strMap, stringData: strMap, immutable: bool }),
  ServiceAccount: topLevel({ secrets: keyed(open({ name: str }), 'name'), imagePullSecrets: list(obj({ name: str })), automountServiceAccountToken: bool }),
  Node: topLevel({
    spec: obj({
      podCIDR: str,
      podCIDRs: set(str),
      providerID: str,
      unschedulable: bool,
      taints: list(obj({ key: str, value: str, effect: str, timeAdded: time }, ['key', 'effect'])),
      configSource: any,
      externalID: str,
    }),
    status: obj({
      capacity: resourceList,
      allocatable: resourceList,
      phase: str,
      conditions,
      addresses: keyed(obj({ type: str, address: str }), 'type'),
      daemonEndpoints: any,
      nodeInfo: open({ machineID: str, systemUUID: str, bootID: str, kernelVersion: str, osImage: str, containerRuntimeVersion: str, kubeletVersion: str, kubeProxyVersion: str, operatingSystem: str, architecture: str }),
      images: any,
      volumesInUse: list(str),
      volumesAttached: any,
      config: any,
      runtimeHandlers: any,
      features: any,
    }),
  }),
  Event: topLevel(
    {
      involvedObject: objectRef,
      reason: str,
      message: str,
      source: obj({ component: str, host: str }),
      firstTimestamp: time,
      lastTimestamp: time,
      count: int,
      type: str,
      eventTime: str,
      series: any,
      action: str,
      related: objectRef,
      reportingComponent: str,
      reportingInstance: str,
    },
    ['involvedObject'],
  ),
  PersistentVolume: topLevel({
    spec: open({ capacity: resourceList, accessModes: list(str), claimRef: objectRef, persistentVolumeReclaimPolicy: str, storageClassName: str, mountOptions: list(str), volumeMode: str, nodeAffinity: any, hostPath: obj({ path: str, type: str }) }),
    status: obj({ phase: str, message: str, reason: str, lastPhaseTransitionTime: time }),
  }),
  PersistentVolumeClaim: topLevel({
    spec: obj({ accessModes: list(str), selector: labelSelector, resources: obj({ limits: resourceList, requests: resourceList }), volumeName: str, storageClassName: str, volumeMode: str, dataSource: any, dataSourceRef: any, volumeAttributesClassName: str }),
    status: open({ phase: str, accessModes: list(str), capacity: resourceList, conditions }),
  }),
  ResourceQuota: topLevel({
    spec: obj({ hard: resourceList, scopes: list(str), scopeSelector: any }),
    status: obj({ hard: resourceList, used: resourceList }),
  }),
};
