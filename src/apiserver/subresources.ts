// Subresources with their own shapes: scale (autoscaling/v1 Scale), pod
// binding, pod eviction and namespace finalize.
import type { KubeObject } from '../api/meta.js';
import type { ResourceInfo } from '../api/registry.js';
import { appsSchemas } from '../api/schemas-apps.js';
import type { Store } from '../store/types.js';
import { decodeObject } from './decode.js';
import { errors } from './errors.js';
import { mutateObject } from './lifecycle.js';
import { applyPatch, type Objects, type PatchType, type WriteOptions } from './objects.js';

const scaleInfo = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
const scaleSchema = appsSchemas.Scale;
const scaleResource = { ...scaleInfo, plural: 'scale', singular: 'scale', namespaced: true, shortNames: [], categories: [], verbs: [], subresources: [], fieldSelectors: [], schema: scaleSchema, virtual: false } as ResourceInfo;

function selectorString(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined): string {
  if (!sel) return '';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}

/** The Scale view of a Deployment/ReplicaSet/StatefulSet. */
export function toScale(o: KubeObject): KubeObject {
  const spec = o.spec as { replicas?: number; selector?: Parameters<typeof selectorString>[0] };
  const status = o.status as { replicas?: number } | undefined;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: spec?.replicas ?? 0 },
    status: { replicas: status?.replicas ?? 0, selector: selectorString(spec?.selector) },
  };
}

/** PUT or PATCH of /scale: computes the new Scale and writes spec.replicas. */
export async function writeScale(objects: Objects, info: ResourceInfo, ns: string | undefined, name: string, opts: WriteOptions, input: { put: unknown } | { patch: unknown; type: PatchType }): Promise<KubeObject> {
  const cur = await objects.get(info, ns, name);
  const curScale = toScale(cur);
  let next: KubeObject;
  if ('put' in input) next = decodeObject(input.put, scaleInfo, scaleSchema, opts.fieldValidation, opts.warnings);
  else {
    const patched = input.type === 'apply' ? applyPatch(curScale, 'merge', input.patch, scaleResource) : applyPatch(curScale, input.type, input.patch, scaleResource);
    next = decodeObject(patched, scaleInfo, scaleSchema, opts.fieldValidation, opts.warnings);
  }
  const replicas = (next.spec as { replicas?: unknown } | undefined)?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid('Scale', 'autoscaling', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` }]);
  }
  const rv = next.metadata.resourceVersion;
  const patch: Record<string, unknown> = { spec: { replicas } };
  if (rv && 'put' in input) patch.metadata = { resourceVersion: rv };
  const { object } = await objects.patch(info, ns, name, 'merge', patch, { ...opts, subresource: 'scale' });
  return toScale(object);
}

/** POST pods/<name>/binding: assigns the pod to a node once. */
export async function bindPod(objects: Objects, store: Store, podInfo: ResourceInfo, ns: string | undefined, name: string, body: unknown, dryRun: boolean): Promise<void> {
  const b = body as { target?: { name?: string; kind?: string }; metadata?: { name?: string } } | null;
  const node = b?.target?.name;
  if (!node) throw errors.invalid('Binding', '', name, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  if (b?.target?.kind && b.target.kind !== 'Node') throw errors.invalid('Binding', '', name, [{ type: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${b.target.kind}": supported values: "Node"` }]);
  const cur = await objects.get(podInfo, ns, name);
  const assigned = (cur.spec as { nodeName?: string }).nodeName;
  if (assigned) throw errors.conflict({ group: '', plural: 'pods', name }, `pod ${name} is already assigned to node "${assigned}"`);
  if (cur.metadata.deletionTimestamp) throw errors.conflict({ group: '', plural: 'pods', name }, `pod ${name} is being deleted, cannot be assigned to a host`);
  if (dryRun) return;
  await mutateObject(objects, store, podInfo, ns, name, (o) => {
    const spec = o.spec as { nodeName?: string };
    if (spec.nodeName) throw errors.conflict({ group: '', plural: 'pods', name }, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    spec.nodeName = node;
    const status = (o.status ??= {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string; lastProbeTime?: null }[] };
    const conds = (status.conditions ??= []).filter((c) => c.type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    status.conditions = conds;
  });
}

/** PUT namespaces/<name>/finalize: replaces spec.finalizers; a terminating namespace with none left is removed. */
export async function finalizeNamespace(objects: Objects, store: Store, nsInfo: ResourceInfo, name: string, body: unknown): Promise<KubeObject> {
  const fin = (body as { spec?: { finalizers?: unknown } } | null)?.spec?.finalizers;
  if (fin !== undefined && fin !== null && (!Array.isArray(fin) || fin.some((f) => typeof f !== 'string'))) throw errors.badRequest('spec.finalizers must be a list of strings');
  return mutateObject(objects, store, nsInfo, undefined, name, (o) => {
    const spec = (o.spec ??= {}) as { finalizers?: string[] };
    spec.finalizers = (fin as string[] | undefined) ?? [];
  });
}
