// REST handlers for resource paths: routes a parsed request to get, list,
// watch, create, update, patch, delete, deletecollection and subresources.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject, Status } from '../api/meta.js';
import { apiVersionOf, type Registry, type ResourceInfo } from '../api/registry.js';
import type { Store } from '../store/types.js';
import type { User } from './authn.js';
import type { Attributes, Authorizer } from './authz/rbac.js';
import type { TokenSigner } from './satoken.js';
import { servePodLog, type KubeletClient } from './podlog.js';
import { decodeObject, parseBody, type FieldValidation } from './decode.js';
import { ApiError, errors } from './errors.js';
import { negotiate, readBody, sendFormatted, type OutputFormat } from './http.js';
import { handleConverted } from './converted.js';
import { listObjects } from './list.js';
import { Objects, type DeleteOptions, type PatchType, type WriteOptions } from './objects.js';
import { parseBool, parseIntParam } from './query.js';
import { bindPod, finalizeNamespace, toScale, writeScale } from './subresources.js';
import { toTable } from './table.js';
import { serveWatch, type WatchContext } from './watch.js';

export interface RestContext {
  /** The authenticated caller of the current request. */
  user?: User;
  authorizer: Authorizer;
  signer: TokenSigner;
  kubelet: KubeletClient;
  registry: Registry;
  store: Store;
  objects: Objects;
  watch: Omit<WatchContext, 'render'>;
}

export interface ResourceRequest {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
  watchPath: boolean;
}

/** Splits /api/v1/... or /apis/g/v/... into a resource request; undefined if not a resource path. */
export function parseResourcePath(segments: string[]): ResourceRequest | undefined {
  let group = '';
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  } else return undefined;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !['status', 'finalize'].includes(rest[2])) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (!rest.length || rest.length > 3 || rest.some((s) => s === '')) return undefined;
  return { group, version, namespace, plural: rest[0], name: rest[1], subresource: rest[2], watchPath };
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function writeOptions(q: URLSearchParams, req: IncomingMessage, subresource?: string): WriteOptions {
  const dry = q.getAll('dryRun');
  if (dry.some((d) => d !== 'All')) throw errors.badRequest(`dryRun: Unsupported value: "${dry.find((d) => d !== 'All')}": supported values: "All"`);
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (!['Strict', 'Warn', 'Ignore'].includes(fv)) throw errors.badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  let manager = q.get('fieldManager') ?? '';
  if (manager.length > 128) throw errors.badRequest('fieldManager: Too long: may not be more than 128 bytes');
  if (!manager) manager = (req.headers['user-agent'] ?? 'unknown').split('/')[0].slice(0, 128) || 'unknown';
  return { dryRun: dry.length > 0, fieldManager: manager, fieldValidation: fv as FieldValidation, subresource: subresource === 'status' ? 'status' : undefined, force: parseBool(q, 'force'), warnings: [] };
}

function successStatus(info: ResourceInfo, o: KubeObject): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: o.metadata.name, group: info.group, kind: info.plural, uid: o.metadata.uid }, code: 200 };
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const opts: DeleteOptions = {};
  const raw = await readBody(req);
  if (raw.length && raw.toString().trim()) {
    const body = parseBody(raw, 'application/json') as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('DeleteOptions must be an object');
    if (body.gracePeriodSeconds !== undefined && body.gracePeriodSeconds !== null) opts.gracePeriodSeconds = Number(body.gracePeriodSeconds);
    if (body.propagationPolicy) opts.propagationPolicy = body.propagationPolicy as DeleteOptions['propagationPolicy'];
    if (body.orphanDependents === true) opts.propagationPolicy = 'Orphan';
    if (body.preconditions) opts.preconditions = body.preconditions as DeleteOptions['preconditions'];
    if (Array.isArray(body.dryRun) && body.dryRun.length) opts.dryRun = true;
  }
  const g = parseIntParam(q, 'gracePeriodSeconds');
  if (g !== undefined) opts.gracePeriodSeconds = g;
  const pp = q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
  if (opts.propagationPolicy && !['Foreground', 'Background', 'Orphan'].includes(opts.propagationPolicy)) throw errors.badRequest(`propagationPolicy: Unsupported value: "${opts.propagationPolicy}"`);
  if (opts.gracePeriodSeconds !== undefined && (!Number.isInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0)) opts.gracePeriodSeconds = 0;
  if (q.getAll('dryRun').length) opts.dryRun = true;
  return opts;
}

/** Handles one request for a resource path. */
export async function handleResource(ctx: RestContext, rr: ResourceRequest, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const method = req.method ?? 'GET';
  // Legacy binding endpoint: POST /api/v1/namespaces/<ns>/bindings
  if (rr.group === '' && rr.plural === 'bindings' && rr.namespace && !rr.name && method === 'POST') {
    const podInfo = ctx.registry.byPlural('', 'v1', 'pods')!;
    const body = parseBody(await readBody(req), req.headers['content-type'] ?? 'application/json') as { metadata?: { name?: string } };
    await bindPod(ctx.objects, ctx.store, podInfo, rr.namespace, body?.metadata?.name ?? '', body, q.getAll('dryRun').length > 0);
    return sendFormatted(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, 'json');
  }
  const info = ctx.registry.byPlural(rr.group, rr.version, rr.plural);
  if (!info) throw errors.noRoute();
  if (!info.namespaced && rr.namespace) throw errors.noRoute();
  if (rr.subresource && !info.subresources.includes(rr.subresource as never)) throw errors.noRoute();
  if (info.storageVersion) return handleConverted(ctx, info, rr, req, res, q);
  if (info.virtual) {
    if (method !== 'POST' || rr.name) throw errors.methodNotAllowed(method);
    const ct = req.headers['content-type'] ?? 'application/json';
    requireBodyType(ct);
    const body = decodeObject(parseBody(await readBody(req), ct), info, info.schema, 'Strict', []);
    return sendFormatted(res, 201, await review(ctx, info, body), 'json');
  }
  const accept = negotiate(req.headers.accept);
  const ns = info.namespaced ? rr.namespace : undefined;
  const fmt: OutputFormat = accept.format;
  const render = (o: KubeObject) => (fmt === 'table' ? toTable(info.kind, [o], {}, q.get('includeObject') ?? 'Metadata') : o);
  const isWatch = rr.watchPath || parseBool(q, 'watch');

  if (!rr.name) {
    if (method === 'GET' && isWatch) {
      return serveWatch({ ...ctx.watch, render }, info, ns, q, res);
    }
    if (method === 'GET') {
      const list = await listObjects(ctx.store, ctx.objects, info, ns, q);
      if (fmt === 'table') return sendFormatted(res, 200, toTable(info.kind, list.items, list.metadata, q.get('includeObject') ?? 'Metadata'), 'json');
      return sendFormatted(res, 200, list, fmt);
    }
    if (method === 'POST') {
      if (info.namespaced && !ns) throw errors.methodNotAllowed(method);
      const opts = writeOptions(q, req);
      const ct = req.headers['content-type'] ?? 'application/json';
      requireBodyType(ct);
      const obj = decodeObject(parseBody(await readBody(req), ct), info, info.schema, opts.fieldValidation, opts.warnings);
      if (!obj.metadata.name && !obj.metadata.generateName) throw errors.invalid(info.kind, info.group, '', [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
      await ctx.objects.checkNamespace(ctx.registry.byPlural('', 'v1', 'namespaces')!, info, ns, obj.metadata.name ?? '');
      const created = await ctx.objects.create(info, ns, obj, opts);
      return sendFormatted(res, 201, created, fmt === 'table' ? 'json' : fmt, opts.warnings);
    }
    if (method === 'DELETE') {
      if (!info.verbs.includes('deletecollection')) throw errors.methodNotAllowed(method);
      const opts = await deleteOptions(req, q);
      const list = await listObjects(ctx.store, ctx.objects, info, ns, q);
      const out: KubeObject[] = [];
      for (const o of list.items) {
        try {
          const r = await ctx.objects.delete(info, o.metadata.namespace, o.metadata.name ?? '', opts);
          out.push(r.object);
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        }
      }
      return sendFormatted(res, 200, { kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata: { resourceVersion: list.metadata.resourceVersion }, items: out }, fmt === 'table' ? 'json' : fmt);
    }
    throw errors.methodNotAllowed(method);
  }

  const name = rr.name;
  const sub = rr.subresource;
  if (sub === 'log') {
    if (method !== 'GET') throw errors.methodNotAllowed(method);
    return servePodLog(ctx.objects, ctx.registry, ctx.kubelet, ns ?? '', name, q, res);
  }
  if (sub === 'binding') {
    if (method !== 'POST') throw errors.methodNotAllowed(method);
    const body = parseBody(await readBody(req), req.headers['content-type'] ?? 'application/json');
    await bindPod(ctx.objects, ctx.store, info, ns, name, body, q.getAll('dryRun').length > 0);
    return sendFormatted(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, 'json');
  }
  if (sub === 'eviction') {
    if (method !== 'POST') throw errors.methodNotAllowed(method);
    await readBody(req);
    await ctx.objects.delete(info, ns, name, {});
    return sendFormatted(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, 'json');
  }
  if (sub === 'token') {
    if (method !== 'POST') throw errors.methodNotAllowed(method);
    const ct = req.headers['content-type'] ?? 'application/json';
    requireBodyType(ct);
    const treq = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
    const body = decodeObject(parseBody(await readBody(req), ct), treq, ctx.registry.schemaOf('TokenRequest'), 'Strict', []);
    const spec = (body.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number };
    const seconds = spec.expirationSeconds ?? 3600;
    if (!Number.isInteger(seconds) || seconds < 600 || seconds > 365 * 86400) throw errors.invalid('TokenRequest', 'authentication.k8s.io', name, [{ type: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes or more than a year` }]);
    const sa = await ctx.objects.get(info, ns, name);
    const { token, expires } = ctx.signer.mint(sa, spec.audiences ?? [], seconds);
    const out = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name, namespace: ns, creationTimestamp: null }, spec: { audiences: spec.audiences?.length ? spec.audiences : ['https://kubernetes.default.svc'], expirationSeconds: seconds, boundObjectRef: null }, status: { token, expirationTimestamp: new Date(expires * 1000).toISOString().replace(/\.\d+Z$/, 'Z') } };
    return sendFormatted(res, 201, out, 'json');
  }
  if (sub === 'finalize') {
    if (method !== 'PUT') throw errors.methodNotAllowed(method);
    const body = parseBody(await readBody(req), req.headers['content-type'] ?? 'application/json');
    return sendFormatted(res, 200, await finalizeNamespace(ctx.objects, ctx.store, info, name, body), fmt === 'table' ? 'json' : fmt);
  }
  if (sub === 'scale') {
    const opts = writeOptions(q, req);
    if (method === 'GET') return sendFormatted(res, 200, toScale(await ctx.objects.get(info, ns, name)), fmt === 'table' ? 'json' : fmt);
    const ct = req.headers['content-type'] ?? 'application/json';
    if (method === 'PUT') {
      requireBodyType(ct);
      const scale = await writeScale(ctx.objects, info, ns, name, opts, { put: parseBody(await readBody(req), ct) });
      return sendFormatted(res, 200, scale, fmt === 'table' ? 'json' : fmt, opts.warnings);
    }
    if (method === 'PATCH') {
      const type = patchType(ct);
      const scale = await writeScale(ctx.objects, info, ns, name, opts, { patch: parseBody(await readBody(req), ct), type });
      return sendFormatted(res, 200, scale, fmt === 'table' ? 'json' : fmt, opts.warnings);
    }
    throw errors.methodNotAllowed(method);
  }

  if (method === 'GET') {
    const o = await ctx.objects.get(info, ns, name);
    if (fmt === 'table') return sendFormatted(res, 200, toTable(info.kind, [o], { resourceVersion: o.metadata.resourceVersion }, q.get('includeObject') ?? 'Metadata'), 'json');
    return sendFormatted(res, 200, o, fmt);
  }
  if (method === 'PUT') {
    const opts = writeOptions(q, req, sub);
    const ct = req.headers['content-type'] ?? 'application/json';
    requireBodyType(ct);
    const obj = decodeObject(parseBody(await readBody(req), ct), info, info.schema, opts.fieldValidation, opts.warnings);
    const r = await ctx.objects.update(info, ns, name, obj, opts);
    return sendFormatted(res, r.created ? 201 : 200, r.object, fmt === 'table' ? 'json' : fmt, opts.warnings);
  }
  if (method === 'PATCH') {
    const opts = writeOptions(q, req, sub);
    const ct = req.headers['content-type'] ?? '';
    const type = patchType(ct);
    if (type === 'apply' && !q.get('fieldManager')) throw errors.badRequest('PATCH, application/apply-patch+yaml requests must have fieldManager set');
    if (type !== 'apply' && q.has('force')) throw errors.badRequest('force: Forbidden: may not be specified for non-apply patch');
    const body = parseBody(await readBody(req), ct);
    if (type === 'apply' && !q.get('fieldManager')) throw errors.badRequest('fieldManager is required for apply');
    if (type !== 'apply' && !q.get('fieldManager')) opts.fieldManager = opts.fieldManager || 'unknown';
    if (info.namespaced) await ctx.objects.checkNamespace(ctx.registry.byPlural('', 'v1', 'namespaces')!, info, ns, name);
    const r = await ctx.objects.patch(info, ns, name, type, body, opts);
    return sendFormatted(res, r.created ? 201 : 200, r.object, fmt === 'table' ? 'json' : fmt, opts.warnings);
  }
  if (method === 'DELETE') {
    if (sub) throw errors.methodNotAllowed(method);
    const opts = await deleteOptions(req, q);
    const r = await ctx.objects.delete(info, ns, name, opts);
    if (r.deleted && info.kind !== 'Pod') return sendFormatted(res, 200, successStatus(info, r.object), 'json');
    return sendFormatted(res, 200, r.object, fmt === 'table' ? 'json' : fmt);
  }
  throw errors.methodNotAllowed(method);
}

/** Answers self reviews: who am I, and may I do this (asked of the RBAC authorizer). */
async function review(ctx: RestContext, info: ResourceInfo, body: KubeObject): Promise<KubeObject> {
  const out: KubeObject = { ...body, metadata: { ...body.metadata, creationTimestamp: undefined } };
  const user = ctx.user ?? { name: 'system:anonymous', groups: ['system:unauthenticated'] };
  if (info.kind === 'SelfSubjectReview') {
    out.status = { userInfo: { username: user.name, groups: user.groups } };
    return out;
  }
  const spec = (body.spec ?? {}) as { resourceAttributes?: Record<string, string>; nonResourceAttributes?: Record<string, string> };
  let attrs: Attributes;
  if (spec.resourceAttributes) {
    const r = spec.resourceAttributes;
    attrs = { isResource: true, verb: r.verb ?? '', apiGroup: r.group ?? '', resource: r.resource ?? '', subresource: r.subresource || undefined, namespace: r.namespace || undefined, name: r.name || undefined };
  } else if (spec.nonResourceAttributes) {
    attrs = { isResource: false, verb: spec.nonResourceAttributes.verb ?? '', path: spec.nonResourceAttributes.path ?? '' };
  } else {
    throw errors.invalid(info.kind, info.group, '', [{ type: 'FieldValueRequired', field: 'spec', message: 'Required value: exactly one of resourceAttributes or nonResourceAttributes' }]);
  }
  const d = await ctx.authorizer.authorize(user, attrs);
  out.status = { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) };
  return out;
}

/** RBAC attributes of a resource request. */
export function requestAttributes(rr: ResourceRequest, method: string, q: URLSearchParams): Attributes {
  const watch = rr.watchPath || parseBool(q, 'watch');
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch' };
  let verb = verbs[method] ?? 'get';
  if (method === 'GET' || method === 'HEAD') verb = rr.name ? (watch ? 'watch' : 'get') : watch ? 'watch' : 'list';
  if (method === 'DELETE') verb = rr.name ? 'delete' : 'deletecollection';
  const namespace = rr.plural === 'namespaces' && rr.name ? rr.name : rr.namespace;
  return { isResource: true, verb, apiGroup: rr.group, resource: rr.plural, subresource: rr.subresource, namespace, name: rr.name };
}

export function requireBodyType(ct: string): void {
  const t = ct.split(';')[0].trim().toLowerCase();
  if (!['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', ''].includes(t)) throw errors.unsupportedMedia(ct);
}

export function patchType(ct: string): PatchType {
  const t = PATCH_TYPES[ct.split(';')[0].trim().toLowerCase()];
  if (!t) throw errors.unsupportedMedia(ct);
  return t;
}
