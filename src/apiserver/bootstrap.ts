// Objects every cluster starts with: the default namespaces and the RBAC
// roles the built-in identities rely on (cluster-admin for system:masters,
// system:node for kubelets, system:basic-user for everyone authenticated).
import type { KubeObject } from '../api/meta.js';
import type { Registry } from '../api/registry.js';
import { ApiError } from './errors.js';
import type { Objects } from './objects.js';

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Creates the bootstrap objects that are missing (idempotent). */
export async function bootstrap(objects: Objects, registry: Registry): Promise<void> {
  const ensure = async (plural: string, group: string, version: string, obj: KubeObject) => {
    try {
      await objects.create(registry.byPlural(group, version, plural)!, undefined, obj, { dryRun: false, fieldManager: 'ebbflow-apiserver', fieldValidation: 'Strict', warnings: [] });
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
    }
  };
  for (const name of DEFAULT_NAMESPACES) await ensure('namespaces', '', 'v1', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const rbac = 'rbac.authorization.k8s.io';
  const labels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
  await ensure('clusterroles', rbac, 'v1', { apiVersion: `${rbac}/v1`, kind: 'ClusterRole', metadata: { name: 'cluster-admin', labels }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] });
  await ensure('clusterrolebindings', rbac, 'v1', { apiVersion: `${rbac}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'cluster-admin', labels }, roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ apiGroup: rbac, kind: 'Group', name: 'system:masters' }] });
  // Kubelets and node agents (O=system:nodes) manage their node, its pods' status, leases and events, and read what pods need.
  await ensure('clusterroles', rbac, 'v1', {
    apiVersion: `${rbac}/v1`,
    kind: 'ClusterRole',
    metadata: { name: 'system:node', labels },
    rules: [
      { apiGroups: [''], resources: ['nodes', 'nodes/status'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods/status'], verbs: ['get', 'update', 'patch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'update', 'patch'] },
      // Projected service-account token volumes (TokenRequest for the pod's account).
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['', 'discovery.k8s.io', 'networking.k8s.io'], resources: ['configmaps', 'secrets', 'services', 'endpoints', 'endpointslices', 'namespaces', 'networkpolicies', 'persistentvolumeclaims', 'persistentvolumes', 'serviceaccounts'], verbs: ['get', 'list', 'watch'] },
    ],
  });
  await ensure('clusterrolebindings', rbac, 'v1', { apiVersion: `${rbac}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'system:node', labels }, roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'system:node' }, subjects: [{ apiGroup: rbac, kind: 'Group', name: 'system:nodes' }] });
  // Every authenticated user may ask who they are and what they may do.
  await ensure('clusterroles', rbac, 'v1', { apiVersion: `${rbac}/v1`, kind: 'ClusterRole', metadata: { name: 'system:basic-user', labels }, rules: [{ apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'], verbs: ['create'] }, { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] }] });
  await ensure('clusterrolebindings', rbac, 'v1', { apiVersion: `${rbac}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'system:basic-user', labels }, roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'system:basic-user' }, subjects: [{ apiGroup: rbac, kind: 'Group', name: 'system:authenticated' }] });
}

