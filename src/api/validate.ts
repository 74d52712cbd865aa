// Entry point for validation: metadata plus the kind's own rules.
import type { KubeObject } from './meta.js';
import type { ResourceInfo } from './registry.js';
import * as other from './validate-other.js';
import * as wl from './validate-workloads.js';
import { Errors, type FieldError, type NameRule, validateMeta } from './validation.js';

export type { FieldError } from './validation.js';

type Validator = (errs: Errors, o: KubeObject) => void;

const VALIDATORS: Record<string, Validator> = {
  Pod: wl.validatePod,
  Deployment: wl.validateDeployment,
  ReplicaSet: wl.validateReplicaSet,
  StatefulSet: wl.validateStatefulSet,
  DaemonSet: wl.validateDaemonSet,
  Job: (e, o) => wl.validateJob(e, o),
  CronJob: wl.validateCronJob,
  Service: other.validateService,
  ConfigMap: other.validateConfigMap,
  Secret: other.validateSecret,
  Namespace: other.validateNamespace,
  Node: other.validateNode,
  Event: other.validateEvent,
  Endpoints: other.validateEndpoints,
  EndpointSlice: other.validateEndpointSlice,
  NetworkPolicy: other.validateNetworkPolicy,
  Ingress: other.validateIngress,
  Lease: other.validateLease,
  HorizontalPodAutoscaler: other.validateHPA,
  PodDisruptionBudget: other.validatePDB,
  PersistentVolume: other.validatePV,
  PersistentVolumeClaim: other.validatePVC,
  StorageClass: other.validateStorageClass,
  Role: other.validateRole,
  ClusterRole: other.validateRole,
  RoleBinding: other.validateRoleBinding,
  ClusterRoleBinding: other.validateRoleBinding,
  ResourceQuota: other.validateResourceQuota,
};

const NAME_RULES: Record<string, NameRule> = {
  Namespace: 'label',
  Service: 'dns1035',
  Role: 'path',
  ClusterRole: 'path',
  RoleBinding: 'path',
  ClusterRoleBinding: 'path',
};

/** Validates an object of the given resource; returns field errors (empty when valid). */
export function validateObject(info: ResourceInfo, o: KubeObject, old?: KubeObject): FieldError[] {
  const errs = new Errors();
  validateMeta(errs, o, info.namespaced, NAME_RULES[info.kind] ?? 'subdomain');
  try {
    VALIDATORS[info.kind]?.(errs, o);
  } catch {
    // A shape the decoder let through but a validator could not walk: report, never crash.
    errs.invalid('', '', 'object could not be validated');
  }
  if (old) validateImmutable(errs, info, o, old);
  return errs.list;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Fields that may not change on update. */
function validateImmutable(errs: Errors, info: ResourceInfo, o: KubeObject, old: KubeObject): void {
  const s = o.spec as Record<string, unknown> | undefined;
  const os = old.spec as Record<string, unknown> | undefined;
  if (['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(info.kind) && !same(s?.selector, os?.selector)) {
    errs.invalid('spec.selector', s?.selector ?? null, 'field is immutable');
  }
  if ((info.kind === 'ConfigMap' || info.kind === 'Secret') && old.immutable === true) {
    if (!same(o.data, old.data) || !same(o.binaryData, old.binaryData)) errs.forbidden('data', 'field is immutable when `immutable` is set');
    if (o.immutable !== true) errs.forbidden('immutable', 'field is immutable when `immutable` is set');
  }
  if (info.kind === 'Secret' && o.type !== old.type) errs.invalid('type', o.type, 'field is immutable');
  if (info.kind === 'Service' && os?.clusterIP && s?.clusterIP !== os.clusterIP && s?.type === os.type) errs.invalid('spec.clusterIP', s?.clusterIP ?? '', 'field is immutable');
  if (info.kind === 'Pod' && os) {
    const strip = (x: Record<string, unknown> | undefined) => {
      const c = JSON.parse(JSON.stringify(x ?? {})) as Record<string, unknown>;
      for (const k of ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds', 'schedulingGates']) delete c[k];
      for (const list of ['containers', 'initContainers']) for (const ct of (c[list] as Record<string, unknown>[]) ?? []) delete ct.image;
      return c;
    };
    if (!same(strip(s), strip(os))) errs.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)');
  }
  if (info.kind === 'Job' && os && !same((s?.template as unknown) ?? null, (os.template as unknown) ?? null)) errs.invalid('spec.template', '', 'field is immutable');
  if ((info.kind === 'RoleBinding' || info.kind === 'ClusterRoleBinding') && !same(o.roleRef, old.roleRef)) errs.invalid('roleRef', o.roleRef, 'cannot change roleRef');
  if (info.kind === 'PersistentVolumeClaim' && os?.volumeName && s?.volumeName !== os.volumeName) errs.forbidden('spec', 'spec is immutable after creation except resources.requests');
}
