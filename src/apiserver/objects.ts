// The object layer: Kubernetes write semantics (uid, generation, timestamps,
// optimistic concurrency, status split, finalizers, graceful deletion,
// managedFields) over the revisioned Store.
import { randomUUID } from 'node:crypto';
import { applyDefaults } from '../api/defaults.js';
import type { KubeObject, ObjectMeta } from '../api/meta.js';
import { serverSideApply, trackUpdate, type ManagerRef } from '../api/patch/apply.js';
import { clone } from '../api/patch/errors.js';
import { applyJsonPatch } from '../api/patch/json.js';
import { applyMergePatch } from '../api/patch/merge.js';
import { applyStrategicPatch } from '../api/patch/strategic.js';
import { apiVersionOf, type ResourceInfo } from '../api/registry.js';
import { validateObject } from '../api/validate.js';
import { isStoreError } from '../store/errors.js';
import type { KeyValue, Store } from '../store/types.js';
import { decodeObject, type FieldValidation } from './decode.js';
import { deleteObject, finalizersDone } from './lifecycle.js';
import { ApiError, asApiError, errors } from './errors.js';

export interface WriteOptions {
  dryRun: boolean;
  fieldManager: string;
  fieldValidation: FieldValidation;
  subresource?: 'status' | 'scale';
  force?: boolean;
  /** Collected warnings (unknown fields under Warn). */
  warnings: string[];
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Result of a delete: the object if deletion is pending, or the removed object. */
export interface DeleteResult {
  object: KubeObject;
  deleted: boolean;
}

const MAX_RETRIES = 8;
const CREATE_ON_UPDATE = new Set(['Endpoints', 'Lease', 'Event']);
const KEEP_STATUS_ON_CREATE = new Set(['Node', 'Event', 'Lease']);

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

function withoutMetaStatus(o: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return JSON.stringify(rest);
}

function comparable(o: KubeObject): string {
  const c = clone(o);
  delete c.metadata.resourceVersion;
  delete c.metadata.managedFields;
  return JSON.stringify(c);
}

export class Objects {
  constructor(readonly store: Store) {}

  key(info: ResourceInfo, ns: string | undefined, name: string): string {
    return this.prefix(info, ns) + name;
  }

  /** Key prefix of a collection (all namespaces when ns is undefined). */
  prefix(info: ResourceInfo, ns: string | undefined): string {
    const base = `/registry/${info.group || 'core'}/${info.plural}/`;
    return info.namespaced && ns ? `${base}${ns}/` : base;
  }

  decode(kv: KeyValue): KubeObject {
    const o = JSON.parse(kv.value) as KubeObject;
    o.metadata.resourceVersion = String(kv.modRevision);
    return o;
  }

  encode(o: KubeObject): string {
    const c = { ...o, metadata: { ...o.metadata } };
    delete c.metadata.resourceVersion;
    return JSON.stringify(c);
  }

  ref(info: ResourceInfo, name?: string) {
    return { group: info.group, plural: info.plural, name };
  }

  async get(info: ResourceInfo, ns: string | undefined, name: string): Promise<KubeObject> {
    try {
      return this.decode(await this.store.get(this.key(info, ns, name)));
    } catch (err) {
      throw asApiError(err, this.ref(info, name));
    }
  }

  async tryGet(info: ResourceInfo, ns: string | undefined, name: string): Promise<{ obj: KubeObject; rev: number } | undefined> {
    try {
      const kv = await this.store.get(this.key(info, ns, name));
      return { obj: this.decode(kv), rev: kv.modRevision };
    } catch (err) {
      if (isStoreError(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /** Namespaced creates need a live namespace (404 missing, 403 terminating). */
  async checkNamespace(namespaceInfo: ResourceInfo, info: ResourceInfo, ns: string | undefined, name: string): Promise<void> {
    if (!info.namespaced || !ns) return;
    // Like NamespaceLifecycle's informer: a cached live namespace admits at once; anything else is read live.
    const hit = this.store.cached?.(this.key(namespaceInfo, undefined, ns), this.prefix(namespaceInfo, undefined));
    if (hit && !(JSON.parse(hit.value) as KubeObject).metadata.deletionTimestamp) return;
    const found = await this.tryGet(namespaceInfo, undefined, ns);
    if (!found) throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    if (found.obj.metadata.deletionTimestamp) {
      throw errors.forbidden(this.ref(info, name), `unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  private manager(info: ResourceInfo, opts: WriteOptions, operation: 'Apply' | 'Update', sub?: string): ManagerRef {
    return { manager: opts.fieldManager, operation, subresource: sub, apiVersion: apiVersionOf(info), time: now() };
  }

  private finish(info: ResourceInfo, o: KubeObject, old: KubeObject | undefined): void {
    try {
      applyDefaults(info.kind, o);
    } catch {
      // Defaulting walks shapes the decoder accepted; one it cannot walk is the client's error.
      throw errors.badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: malformed object`);
    }
    const errs = validateObject(info, o, old);
    if (errs.length) throw errors.invalid(info.kind, info.group, o.metadata.name ?? '', errs);
  }

  /** Create from an already-decoded object. */
  async create(info: ResourceInfo, ns: string | undefined, body: KubeObject, opts: WriteOptions, applied = false): Promise<KubeObject> {
    const o = body;
    const md: ObjectMeta = o.metadata;
    if (info.namespaced) {
      if (md.namespace && ns && md.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      md.namespace = ns ?? md.namespace;
    } else delete md.namespace;
    if (!md.name && md.generateName) md.name = md.generateName + randomSuffix();
    md.uid = randomUUID();
    md.creationTimestamp = now();
    md.generation = 1;
    delete md.resourceVersion;
    delete md.deletionTimestamp;
    delete md.deletionGracePeriodSeconds;
    delete (md as Record<string, unknown>).selfLink;
    if (info.subresources.includes('status') && !KEEP_STATUS_ON_CREATE.has(info.kind)) o.status = initialStatus(info.kind);
    if (info.kind === 'Job') defaultJobSelector(o);
    this.finish(info, o, undefined);
    if (!applied) {
      delete md.managedFields;
      trackUpdate(undefined, o, info.schema, this.manager(info, opts, 'Update'));
    }
    if (opts.dryRun) return o;
    try {
      const kv = await this.store.create(this.key(info, md.namespace, md.name ?? ''), this.encode(o));
      o.metadata.resourceVersion = String(kv.modRevision);
      return o;
    } catch (err) {
      throw asApiError(err, this.ref(info, md.name));
    }
  }

  /**
   * Shared tail of update and patch: keep immutable metadata, split status,
   * bump generation, validate, then compare-and-swap at `rev`.
   * Returns undefined when the store moved on (caller retries).
   */
  private async commit(info: ResourceInfo, cur: KubeObject, rev: number, next: KubeObject, opts: WriteOptions, managed: 'track' | 'keep'): Promise<KubeObject | undefined> {
    const md = next.metadata;
    const cm = cur.metadata;
    if (md.name && md.name !== cm.name) throw errors.badRequest(`the name of the object (${md.name}) does not match the name on the URL (${cm.name})`);
    if (info.namespaced && md.namespace && md.namespace !== cm.namespace) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    if (md.uid && md.uid !== cm.uid) throw errors.invalid(info.kind, info.group, cm.name ?? '', [{ type: 'FieldValueInvalid', field: 'metadata.uid', message: `Invalid value: ${JSON.stringify(md.uid)}: field is immutable` }]);
    md.name = cm.name;
    if (info.namespaced) md.namespace = cm.namespace;
    else delete md.namespace;
    md.uid = cm.uid;
    md.creationTimestamp = cm.creationTimestamp;
    if (cm.deletionTimestamp) {
      md.deletionTimestamp = cm.deletionTimestamp;
      md.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
    } else {
      delete md.deletionTimestamp;
      delete md.deletionGracePeriodSeconds;
    }
    delete (md as Record<string, unknown>).selfLink;
    if (info.kind === 'Service') keepAllocated(cur, next);
    if (info.subresources.includes('status')) {
      if (opts.subresource === 'status') {
        const status = next.status;
        const keep = clone(cur);
        for (const k of Object.keys(next)) if (k !== 'metadata') delete next[k];
        for (const [k, v] of Object.entries(keep)) if (k !== 'metadata' && k !== 'status') next[k] = v;
        next.apiVersion = cur.apiVersion;
        next.kind = cur.kind;
        next.status = status;
        md.labels = cm.labels;
        md.annotations = cm.annotations;
        md.finalizers = cm.finalizers;
        md.ownerReferences = cm.ownerReferences;
        for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const) if (md[k] === undefined) delete md[k];
      } else if (cur.status !== undefined) next.status = clone(cur.status);
      else delete next.status;
    }
    md.generation = cm.generation ?? 1;
    if (withoutMetaStatus(next) !== withoutMetaStatus(cur)) md.generation += 1;
    this.finish(info, next, cur);
    if (managed === 'track') {
      md.managedFields = cm.managedFields;
      if (!md.managedFields) delete md.managedFields;
      trackUpdate(cur, next, info.schema, this.manager(info, opts, 'Update', opts.subresource));
    }
    md.resourceVersion = cm.resourceVersion;
    if (comparable(next) === comparable(cur) && JSON.stringify(next.metadata.managedFields?.map((m) => m.fieldsV1)) === JSON.stringify(cur.metadata.managedFields?.map((m) => m.fieldsV1))) {
      return cur;
    }
    if (opts.dryRun) return next;
    const key = this.key(info, cm.namespace, cm.name ?? '');
    try {
      if (md.deletionTimestamp && finalizersDone(next)) {
        await this.store.delete(key, rev);
        return next;
      }
      const kv = await this.store.update(key, this.encode(next), rev);
      next.metadata.resourceVersion = String(kv.modRevision);
      return next;
    } catch (err) {
      if (isStoreError(err, 'CONFLICT') || isStoreError(err, 'NOT_FOUND')) return undefined;
      throw asApiError(err, this.ref(info, cm.name));
    }
  }

  /** PUT: replace the object (or its status). */
  async update(info: ResourceInfo, ns: string | undefined, name: string, body: KubeObject, opts: WriteOptions): Promise<{ object: KubeObject; created: boolean }> {
    if (body.metadata.name && body.metadata.name !== name) throw errors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    if (info.namespaced && body.metadata.namespace && body.metadata.namespace !== ns) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const wanted = body.metadata.resourceVersion;
    for (let i = 0; i < MAX_RETRIES; i++) {
      const found = await this.tryGet(info, ns, name);
      if (!found) {
        if (CREATE_ON_UPDATE.has(info.kind) && !opts.subresource) {
          body.metadata.name = name;
          return { object: await this.create(info, ns, body, opts), created: true };
        }
        throw errors.notFound(this.ref(info, name));
      }
      if (wanted && wanted !== found.obj.metadata.resourceVersion) throw errors.conflict(this.ref(info, name));
      const next = clone(body);
      const out = await this.commit(info, found.obj, found.rev, next, opts, 'track');
      if (out) return { object: out, created: false };
      if (wanted) throw errors.conflict(this.ref(info, name));
    }
    throw errors.conflict(this.ref(info, name), 'too many concurrent writers, please retry');
  }

  /** PATCH with one of the four patch types; apply may create. */
  async patch(info: ResourceInfo, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions): Promise<{ object: KubeObject; created: boolean }> {
    for (let i = 0; i < MAX_RETRIES; i++) {
      const found = await this.tryGet(info, ns, name);
      if (type === 'apply') {
        const cfg = decodeObject(clone(patch), info, info.schema, opts.fieldValidation, opts.warnings);
        if (cfg.metadata.name && cfg.metadata.name !== name) throw errors.badRequest(`the name of the object (${cfg.metadata.name}) does not match the name on the URL (${name})`);
        if (!found) {
          if (opts.subresource) throw errors.notFound(this.ref(info, name));
          const created = serverSideApply(undefined, cfg, info.schema, this.manager(info, opts, 'Apply'), !!opts.force, info.subresources.includes('status'));
          created.metadata.name = name;
          return { object: await this.create(info, ns, created, opts, true), created: true };
        }
        const ignoreStatus = info.subresources.includes('status') && opts.subresource !== 'status';
        const next = serverSideApply(found.obj, cfg, info.schema, this.manager(info, opts, 'Apply', opts.subresource), !!opts.force, ignoreStatus);
        const out = await this.commit(info, found.obj, found.rev, next, opts, 'keep');
        if (out) return { object: out, created: false };
        continue;
      }
      if (!found) throw errors.notFound(this.ref(info, name));
      const patched = applyPatch(found.obj, type, patch, info);
      const next = decodeObject(patched, info, info.schema, opts.fieldValidation, opts.warnings);
      const wanted = next.metadata.resourceVersion;
      if (wanted && wanted !== found.obj.metadata.resourceVersion) throw errors.conflict(this.ref(info, name));
      const out = await this.commit(info, found.obj, found.rev, next, opts, 'track');
      if (out) return { object: out, created: false };
    }
    throw errors.conflict(this.ref(info, name), 'too many concurrent writers, please retry');
  }

  /** DELETE: finalizers and graceful pods get a deletionTimestamp; others go at once. */
  delete(info: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions): Promise<DeleteResult> {
    return deleteObject(this, info, ns, name, opts);
  }
}

/** Updates that omit allocated values (cluster IPs, node ports) keep the allocated ones, as kube-apiserver does. */
function keepAllocated(cur: KubeObject, next: KubeObject): void {
  type Port = { port?: number; protocol?: string; nodePort?: number };
  const o = cur.spec as { clusterIP?: string; clusterIPs?: string[]; ports?: Port[]; healthCheckNodePort?: number; type?: string } | undefined;
  const n = next.spec as typeof o;
  if (!o || !n || typeof n !== 'object') return;
  if (!n.clusterIP && o.clusterIP && n.type !== 'ExternalName') n.clusterIP = o.clusterIP;
  if (!n.clusterIPs?.length && o.clusterIPs?.length && n.clusterIP === o.clusterIP) n.clusterIPs = o.clusterIPs;
  if ((n.type === 'NodePort' || n.type === 'LoadBalancer') && Array.isArray(n.ports)) {
    for (const p of n.ports) {
      if (p && typeof p === 'object' && !p.nodePort) {
        const old = o.ports?.find((x) => x.port === p.port && (x.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (old?.nodePort) p.nodePort = old.nodePort;
      }
    }
  }
  if (!n.healthCheckNodePort && o.healthCheckNodePort) n.healthCheckNodePort = o.healthCheckNodePort;
}

function initialStatus(kind: string): Record<string, unknown> {
  switch (kind) {
    case 'Pod':
      return { phase: 'Pending' };
    case 'Namespace':
      return { phase: 'Active' };
    case 'PersistentVolumeClaim':
    case 'PersistentVolume':
      return { phase: 'Pending' };
    case 'Service':
      return { loadBalancer: {} };
    default:
      return {};
  }
}

function defaultJobSelector(o: KubeObject): void {
  const spec = o.spec as { selector?: unknown; manualSelector?: boolean; template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
  if (!spec || spec.manualSelector || spec.selector) return;
  const uid = o.metadata.uid ?? '';
  spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  spec.template ??= {} as never;
  const t = spec.template!;
  t.metadata ??= {};
  t.metadata.labels = { ...(t.metadata.labels ?? {}), 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': o.metadata.name ?? '', 'controller-uid': uid, 'job-name': o.metadata.name ?? '' };
}

/** Applies a non-apply patch to the current object. */
export function applyPatch(cur: KubeObject, type: PatchType, patch: unknown, info: ResourceInfo): unknown {
  switch (type) {
    case 'json':
      return applyJsonPatch(cur, patch);
    case 'merge':
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw errors.badRequest('a merge patch must be a JSON object');
      return applyMergePatch(cur, patch);
    case 'strategic':
      return applyStrategicPatch(cur, patch, info.schema);
    default:
      throw errors.badRequest(`unsupported patch type ${type}`);
  }
}
