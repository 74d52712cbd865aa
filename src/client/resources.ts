// Descriptors of the resources controllers use, and URL paths for them.

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const r = (group: string, version: string, kind: string, plural: string, namespaced = true): ResourceType => ({ group, version, kind, plural, namespaced });

export const resources = {
  namespaces: r('', 'v1', 'Namespace', 'namespaces', false),
  nodes: r('', 'v1', 'Node', 'nodes', false),
  pods: r('', 'v1', 'Pod', 'pods'),
  services: r('', 'v1', 'Service', 'services'),
  endpoints: r('', 'v1', 'Endpoints', 'endpoints'),
  events: r('', 'v1', 'Event', 'events'),
  configmaps: r('', 'v1', 'ConfigMap', 'configmaps'),
  secrets: r('', 'v1', 'Secret', 'secrets'),
  serviceaccounts: r('', 'v1', 'ServiceAccount', 'serviceaccounts'),
  persistentvolumeclaims: r('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims'),
  resourcequotas: r('', 'v1', 'ResourceQuota', 'resourcequotas'),
  deployments: r('apps', 'v1', 'Deployment', 'deployments'),
  replicasets: r('apps', 'v1', 'ReplicaSet', 'replicasets'),
  statefulsets: r('apps', 'v1', 'StatefulSet', 'statefulsets'),
  daemonsets: r('apps', 'v1', 'DaemonSet', 'daemonsets'),
  jobs: r('batch', 'v1', 'Job', 'jobs'),
  cronjobs: r('batch', 'v1', 'CronJob', 'cronjobs'),
  endpointslices: r('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
  networkpolicies: r('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies'),
  ingresses: r('networking.k8s.io', 'v1', 'Ingress', 'ingresses'),
  leases: r('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  horizontalpodautoscalers: r('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
  poddisruptionbudgets: r('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  roles: r('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  rolebindings: r('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
} satisfies Record<string, ResourceType>;

/** "apps/v1" or "v1". */
export function apiVersion(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** The URL path of a collection, an object or one of its subresources. */
export function resourcePath(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  let p = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${rt.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (name && subresource) p += `/${subresource}`;
  return p;
}
