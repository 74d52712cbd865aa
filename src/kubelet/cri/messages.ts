// The CRI runtime.v1 messages the kubelet uses, built with protobufjs's
// reflection API. Field names are camelCase on the JS side; field numbers
// and types follow the public CRI API (k8s.io/cri-api runtime/v1). Only the
// fields we read or write are declared: unknown fields are skipped on decode.
import protobuf from 'protobufjs';

type FieldDef = [name: string, id: number, type: string, rule?: 'repeated' | 'map'];

const ENUMS: Record<string, Record<string, number>> = {
  Protocol: { TCP: 0, UDP: 1, SCTP: 2 },
  MountPropagation: { PROPAGATION_PRIVATE: 0, PROPAGATION_HOST_TO_CONTAINER: 1, PROPAGATION_BIDIRECTIONAL: 2 },
  NamespaceMode: { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 },
  PodSandboxState: { SANDBOX_READY: 0, SANDBOX_NOTREADY: 1 },
  ContainerState: { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2, CONTAINER_UNKNOWN: 3 },
};

const MESSAGES: Record<string, FieldDef[]> = {
  VersionRequest: [['version', 1, 'string']],
  VersionResponse: [['version', 1, 'string'], ['runtimeName', 2, 'string'], ['runtimeVersion', 3, 'string'], ['runtimeApiVersion', 4, 'string']],
  DNSConfig: [['servers', 1, 'string', 'repeated'], ['searches', 2, 'string', 'repeated'], ['options', 3, 'string', 'repeated']],
  PortMapping: [['protocol', 1, 'Protocol'], ['containerPort', 2, 'int32'], ['hostPort', 3, 'int32'], ['hostIp', 4, 'string']],
  Mount: [['containerPath', 1, 'string'], ['hostPath', 2, 'string'], ['readonly', 3, 'bool'], ['selinuxRelabel', 4, 'bool'], ['propagation', 5, 'MountPropagation']],
  NamespaceOption: [['network', 1, 'NamespaceMode'], ['pid', 2, 'NamespaceMode'], ['ipc', 3, 'NamespaceMode'], ['targetId', 4, 'string']],
  Int64Value: [['value', 1, 'int64']],
  LinuxSandboxSecurityContext: [
    ['namespaceOptions', 1, 'NamespaceOption'], ['runAsUser', 3, 'Int64Value'], ['readonlyRootfs', 4, 'bool'],
    ['supplementalGroups', 5, 'int64', 'repeated'], ['privileged', 6, 'bool'], ['runAsGroup', 8, 'Int64Value'],
  ],
  LinuxPodSandboxConfig: [['cgroupParent', 1, 'string'], ['securityContext', 2, 'LinuxSandboxSecurityContext'], ['sysctls', 3, 'string', 'map']],
  PodSandboxMetadata: [['name', 1, 'string'], ['uid', 2, 'string'], ['namespace', 3, 'string'], ['attempt', 4, 'uint32']],
  PodSandboxConfig: [
    ['metadata', 1, 'PodSandboxMetadata'], ['hostname', 2, 'string'], ['logDirectory', 3, 'string'], ['dnsConfig', 4, 'DNSConfig'],
    ['portMappings', 5, 'PortMapping', 'repeated'], ['labels', 6, 'string', 'map'], ['annotations', 7, 'string', 'map'], ['linux', 8, 'LinuxPodSandboxConfig'],
  ],
  RunPodSandboxRequest: [['config', 1, 'PodSandboxConfig'], ['runtimeHandler', 2, 'string']],
  RunPodSandboxResponse: [['podSandboxId', 1, 'string']],
  StopPodSandboxRequest: [['podSandboxId', 1, 'string']],
  StopPodSandboxResponse: [],
  RemovePodSandboxRequest: [['podSandboxId', 1, 'string']],
  RemovePodSandboxResponse: [],
  PodSandboxStatusRequest: [['podSandboxId', 1, 'string'], ['verbose', 2, 'bool']],
  PodIP: [['ip', 1, 'string']],
  PodSandboxNetworkStatus: [['ip', 1, 'string'], ['additionalIps', 2, 'PodIP', 'repeated']],
  PodSandboxStatus: [
    ['id', 1, 'string'], ['metadata', 2, 'PodSandboxMetadata'], ['state', 3, 'PodSandboxState'], ['createdAt', 4, 'int64'],
    ['network', 5, 'PodSandboxNetworkStatus'], ['labels', 7, 'string', 'map'], ['annotations', 8, 'string', 'map'], ['runtimeHandler', 9, 'string'],
  ],
  PodSandboxStatusResponse: [['status', 1, 'PodSandboxStatus'], ['info', 2, 'string', 'map']],
  PodSandboxStateValue: [['state', 1, 'PodSandboxState']],
  PodSandboxFilter: [['id', 1, 'string'], ['state', 2, 'PodSandboxStateValue'], ['labelSelector', 3, 'string', 'map']],
  ListPodSandboxRequest: [['filter', 1, 'PodSandboxFilter']],
  PodSandbox: [
    ['id', 1, 'string'], ['metadata', 2, 'PodSandboxMetadata'], ['state', 3, 'PodSandboxState'], ['createdAt', 4, 'int64'],
    ['labels', 5, 'string', 'map'], ['annotations', 6, 'string', 'map'], ['runtimeHandler', 7, 'string'],
  ],
  ListPodSandboxResponse: [['items', 1, 'PodSandbox', 'repeated']],
  ImageSpec: [['image', 1, 'string'], ['annotations', 2, 'string', 'map']],
  KeyValue: [['key', 1, 'string'], ['value', 2, 'string']],
  LinuxContainerResources: [
    ['cpuPeriod', 1, 'int64'], ['cpuQuota', 2, 'int64'], ['cpuShares', 3, 'int64'], ['memoryLimitInBytes', 4, 'int64'], ['oomScoreAdj', 5, 'int64'],
  ],
  LinuxContainerSecurityContext: [
    ['privileged', 2, 'bool'], ['namespaceOptions', 3, 'NamespaceOption'], ['runAsUser', 5, 'Int64Value'], ['runAsUsername', 6, 'string'],
    ['readonlyRootfs', 7, 'bool'], ['noNewPrivs', 11, 'bool'], ['runAsGroup', 12, 'Int64Value'],
  ],
  LinuxContainerConfig: [['resources', 1, 'LinuxContainerResources'], ['securityContext', 2, 'LinuxContainerSecurityContext']],
  ContainerMetadata: [['name', 1, 'string'], ['attempt', 2, 'uint32']],
  ContainerConfig: [
    ['metadata', 1, 'ContainerMetadata'], ['image', 2, 'ImageSpec'], ['command', 3, 'string', 'repeated'], ['args', 4, 'string', 'repeated'],
    ['workingDir', 5, 'string'], ['envs', 6, 'KeyValue', 'repeated'], ['mounts', 7, 'Mount', 'repeated'], ['labels', 9, 'string', 'map'],
    ['annotations', 10, 'string', 'map'], ['logPath', 11, 'string'], ['stdin', 12, 'bool'], ['stdinOnce', 13, 'bool'], ['tty', 14, 'bool'],
    ['linux', 15, 'LinuxContainerConfig'],
  ],
  CreateContainerRequest: [['podSandboxId', 1, 'string'], ['config', 2, 'ContainerConfig'], ['sandboxConfig', 3, 'PodSandboxConfig']],
  CreateContainerResponse: [['containerId', 1, 'string']],
  StartContainerRequest: [['containerId', 1, 'string']],
  StartContainerResponse: [],
  StopContainerRequest: [['containerId', 1, 'string'], ['timeout', 2, 'int64']],
  StopContainerResponse: [],
  RemoveContainerRequest: [['containerId', 1, 'string']],
  RemoveContainerResponse: [],
  ContainerStateValue: [['state', 1, 'ContainerState']],
  ContainerFilter: [['id', 1, 'string'], ['state', 2, 'ContainerStateValue'], ['podSandboxId', 3, 'string'], ['labelSelector', 4, 'string', 'map']],
  ListContainersRequest: [['filter', 1, 'ContainerFilter']],
  Container: [
    ['id', 1, 'string'], ['podSandboxId', 2, 'string'], ['metadata', 3, 'ContainerMetadata'], ['image', 4, 'ImageSpec'], ['imageRef', 5, 'string'],
    ['state', 6, 'ContainerState'], ['createdAt', 7, 'int64'], ['labels', 8, 'string', 'map'], ['annotations', 9, 'string', 'map'],
  ],
  ListContainersResponse: [['containers', 1, 'Container', 'repeated']],
  ContainerStatusRequest: [['containerId', 1, 'string'], ['verbose', 2, 'bool']],
  ContainerStatus: [
    ['id', 1, 'string'], ['metadata', 2, 'ContainerMetadata'], ['state', 3, 'ContainerState'], ['createdAt', 4, 'int64'], ['startedAt', 5, 'int64'],
    ['finishedAt', 6, 'int64'], ['exitCode', 7, 'int32'], ['image', 8, 'ImageSpec'], ['imageRef', 9, 'string'], ['reason', 10, 'string'],
    ['message', 11, 'string'], ['labels', 12, 'string', 'map'], ['annotations', 13, 'string', 'map'], ['logPath', 15, 'string'],
  ],
  ContainerStatusResponse: [['status', 1, 'ContainerStatus'], ['info', 2, 'string', 'map']],
  ExecSyncRequest: [['containerId', 1, 'string'], ['cmd', 2, 'string', 'repeated'], ['timeout', 3, 'int64']],
  ExecSyncResponse: [['stdout', 1, 'bytes'], ['stderr', 2, 'bytes'], ['exitCode', 3, 'int32']],
  // Streaming calls: the runtime answers with a URL on its streaming server that the kubelet proxies the client's upgrade to.
  ExecRequest: [['containerId', 1, 'string'], ['cmd', 2, 'string', 'repeated'], ['tty', 3, 'bool'], ['stdin', 4, 'bool'], ['stdout', 5, 'bool'], ['stderr', 6, 'bool']],
  ExecResponse: [['url', 1, 'string']],
  AttachRequest: [['containerId', 1, 'string'], ['stdin', 2, 'bool'], ['tty', 3, 'bool'], ['stdout', 4, 'bool'], ['stderr', 5, 'bool']],
  AttachResponse: [['url', 1, 'string']],
  PortForwardRequest: [['podSandboxId', 1, 'string'], ['port', 2, 'int32', 'repeated']],
  PortForwardResponse: [['url', 1, 'string']],
  RuntimeCondition: [['type', 1, 'string'], ['status', 2, 'bool'], ['reason', 3, 'string'], ['message', 4, 'string']],
  RuntimeStatus: [['conditions', 1, 'RuntimeCondition', 'repeated']],
  StatusRequest: [['verbose', 1, 'bool']],
  StatusResponse: [['status', 1, 'RuntimeStatus'], ['info', 2, 'string', 'map']],
  ImageFilter: [['image', 1, 'ImageSpec']],
  ListImagesRequest: [['filter', 1, 'ImageFilter']],
  Image: [
    ['id', 1, 'string'], ['repoTags', 2, 'string', 'repeated'], ['repoDigests', 3, 'string', 'repeated'], ['size', 4, 'uint64'],
    ['uid', 5, 'Int64Value'], ['username', 6, 'string'], ['spec', 7, 'ImageSpec'], ['pinned', 8, 'bool'],
  ],
  ListImagesResponse: [['images', 1, 'Image', 'repeated']],
  ImageStatusRequest: [['image', 1, 'ImageSpec'], ['verbose', 2, 'bool']],
  ImageStatusResponse: [['image', 1, 'Image'], ['info', 2, 'string', 'map']],
  AuthConfig: [['username', 1, 'string'], ['password', 2, 'string'], ['auth', 3, 'string'], ['serverAddress', 4, 'string'], ['identityToken', 5, 'string'], ['registryToken', 6, 'string']],
  PullImageRequest: [['image', 1, 'ImageSpec'], ['auth', 2, 'AuthConfig'], ['sandboxConfig', 3, 'PodSandboxConfig']],
  PullImageResponse: [['imageRef', 1, 'string']],
};

/** Builds the runtime.v1 namespace once per call (no import-time work). */
export function criRoot(): protobuf.Namespace {
  const root = new protobuf.Root();
  const ns = root.define('runtime.v1');
  for (const [name, values] of Object.entries(ENUMS)) ns.add(new protobuf.Enum(name, values));
  for (const [name, fields] of Object.entries(MESSAGES)) {
    const t = new protobuf.Type(name);
    for (const [fname, id, type, rule] of fields) {
      t.add(rule === 'map' ? new protobuf.MapField(fname, id, 'string', type) : new protobuf.Field(fname, id, type, rule === 'repeated' ? 'repeated' : undefined));
    }
    ns.add(t);
  }
  root.resolveAll();
  return ns;
}
