// The resource registry: every built-in resource the API server serves, with
// its group/version/kind, names, scope, verbs, subresources and schema.
import { appsSchemas } from './schemas-apps.js';
import { coreSchemas } from './schemas-core.js';
import type { Schema } from './schema.js';

export type Subresource = 'status' | 'scale' | 'binding' | 'finalize' | 'log' | 'eviction' | 'token' | 'exec' | 'attach' | 'portforward';

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: Subresource[];
  /** Extra field selectors beyond metadata.name / metadata.namespace. */
  fieldSelectors: string[];
  schema: Schema;
  /** Create-only review resources computed per request and never stored. */
  virtual: boolean;
  /** Set when objects are stored in another version of the same group (served through conversion). */
  storageVersion?: string;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Def {
  g: string;
  v: string;
  kind: string;
  plural: string;
  ns: boolean;
  short?: string[];
  cat?: string[];
  sub?: Subresource[];
  fields?: string[];
  verbs?: string[];
  virtual?: boolean;
  storage?: string;
}

const ALL = ['all'];
const DEFS: Def[] = [
  { g: '', v: 'v1', kind: 'Namespace', plural: 'namespaces', ns: false, short: ['ns'], sub: ['status', 'finalize'], fields: ['status.phase'], verbs: ALL_VERBS.filter((v) => v !== 'deletecollection') },
  { g: '', v: 'v1', kind: 'Pod', plural: 'pods', ns: true, short: ['po'], cat: ALL, sub: ['status', 'binding', 'log', 'eviction', 'exec', 'attach', 'portforward'], fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'] },
  { g: '', v: 'v1', kind: 'Service', plural: 'services', ns: true, short: ['svc'], cat: ALL, sub: ['status'], fields: ['spec.clusterIP', 'spec.type'] },
  { g: '', v: 'v1', kind: 'Endpoints', plural: 'endpoints', ns: true, short: ['ep'] },
  { g: '', v: 'v1', kind: 'ConfigMap', plural: 'configmaps', ns: true, short: ['cm'] },
  { g: '', v: 'v1', kind: 'Secret', plural: 'secrets', ns: true, fields: ['type'] },
  { g: '', v: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', ns: true, short: ['sa'], sub: ['token'] },
  { g: '', v: 'v1', kind: 'Node', plural: 'nodes', ns: false, short: ['no'], sub: ['status'], fields: ['spec.unschedulable'] },
  { g: '', v: 'v1', kind: 'Event', plural: 'events', ns: true, short: ['ev'], fields: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'] },
  { g: '', v: 'v1', kind: 'PersistentVolume', plural: 'persistentvolumes', ns: false, short: ['pv'], sub: ['status'] },
  { g: '', v: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', ns: true, short: ['pvc'], sub: ['status'] },
  { g: '', v: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', ns: true, short: ['quota'], sub: ['status'] },
  { g: 'apps', v: 'v1', kind: 'Deployment', plural: 'deployments', ns: true, short: ['deploy'], cat: ALL, sub: ['status', 'scale'] },
  { g: 'apps', v: 'v1', kind: 'ReplicaSet', plural: 'replicasets', ns: true, short: ['rs'], cat: ALL, sub: ['status', 'scale'], fields: ['status.replicas'] },
  { g: 'apps', v: 'v1', kind: 'StatefulSet', plural: 'statefulsets', ns: true, short: ['sts'], cat: ALL, sub: ['status', 'scale'] },
  { g: 'apps', v: 'v1', kind: 'DaemonSet', plural: 'daemonsets', ns: true, short: ['ds'], cat: ALL, sub: ['status'] },
  { g: 'batch', v: 'v1', kind: 'Job', plural: 'jobs', ns: true, cat: ALL, sub: ['status'], fields: ['status.successful'] },
  { g: 'batch', v: 'v1', kind: 'CronJob', plural: 'cronjobs', ns: true, short: ['cj'], cat: ALL, sub: ['status'] },
  { g: 'discovery.k8s.io', v: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', ns: true },
  { g: 'networking.k8s.io', v: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', ns: true, short: ['netpol'] },
  { g: 'networking.k8s.io', v: 'v1', kind: 'Ingress', plural: 'ingresses', ns: true, short: ['ing'], sub: ['status'] },
  { g: 'coordination.k8s.io', v: 'v1', kind: 'Lease', plural: 'leases', ns: true },
  { g: 'autoscaling', v: 'v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', ns: true, short: ['hpa'], cat: ALL, sub: ['status'] },
  { g: 'autoscaling', v: 'v1', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', ns: true, short: ['hpa'], cat: ALL, sub: ['status'], storage: 'v2' },
  { g: 'storage.k8s.io', v: 'v1', kind: 'StorageClass', plural: 'storageclasses', ns: false, short: ['sc'] },
  { g: 'rbac.authorization.k8s.io', v: 'v1', kind: 'Role', plural: 'roles', ns: true },
  { g: 'rbac.authorization.k8s.io', v: 'v1', kind: 'RoleBinding', plural: 'rolebindings', ns: true },
  { g: 'rbac.authorization.k8s.io', v: 'v1', kind: 'ClusterRole', plural: 'clusterroles', ns: false },
  { g: 'rbac.authorization.k8s.io', v: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', ns: false },
  { g: 'policy', v: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', ns: true, short: ['pdb'], sub: ['status'] },
  { g: 'authorization.k8s.io', v: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', ns: false, verbs: ['create'], virtual: true },
  { g: 'authentication.k8s.io', v: 'v1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', ns: false, verbs: ['create'], virtual: true },
];

const SCHEMAS: Record<string, Schema> = { ...coreSchemas, ...appsSchemas };

export interface Registry {
  all: ResourceInfo[];
  /** By group/version/plural. */
  byPlural(group: string, version: string, plural: string): ResourceInfo | undefined;
  byKind(group: string, kind: string): ResourceInfo | undefined;
  /** Group -> versions served, in preference order. */
  groups(): Map<string, string[]>;
  schemaOf(kind: string): Schema | undefined;
}

/** Builds the registry of built-in resources. */
export function createRegistry(): Registry {
  const all: ResourceInfo[] = DEFS.map((d) => ({
    group: d.g,
    version: d.v,
    kind: d.kind,
    plural: d.plural,
    singular: d.kind.toLowerCase(),
    namespaced: d.ns,
    shortNames: d.short ?? [],
    categories: d.cat ?? [],
    verbs: d.verbs ?? ALL_VERBS,
    subresources: d.sub ?? [],
    fieldSelectors: d.fields ?? [],
    schema: SCHEMAS[d.storage ? `${d.kind}.${d.v}` : d.kind],
    virtual: d.virtual ?? false,
    ...(d.storage ? { storageVersion: d.storage } : {}),
  }));
  const plural = new Map(all.map((r) => [`${r.group}/${r.version}/${r.plural}`, r]));
  // By kind: the stored (preferred) version.
  const kind = new Map(all.filter((r) => !r.storageVersion).map((r) => [`${r.group}/${r.kind}`, r]));
  return {
    all,
    byPlural: (g, v, p) => plural.get(`${g}/${v}/${p}`),
    byKind: (g, k) => kind.get(`${g}/${k}`),
    groups() {
      const m = new Map<string, string[]>();
      for (const r of all) {
        const vs = m.get(r.group) ?? [];
        if (!vs.includes(r.version)) vs.push(r.version);
        m.set(r.group, vs);
      }
      return m;
    },
    schemaOf: (k) => SCHEMAS[k],
  };
}

/** "apps/v1" or "v1" for the core group. */
export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
