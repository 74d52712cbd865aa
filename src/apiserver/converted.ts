// REST for a resource served in a version other than the one stored
// (autoscaling/v1 HPAs over stored autoscaling/v2): requests convert in,
// responses and watch events convert out; patches apply to the served view.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONVERTERS } from '../api/convert.js';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf, type ResourceInfo } from '../api/registry.js';
import { decodeObject, parseBody } from './decode.js';
import { ApiError, errors } from './errors.js';
import { negotiate, readBody, sendFormatted } from './http.js';
import { listObjects } from './list.js';
import { applyPatch } from './objects.js';
import { parseBool } from './query.js';
import { handleResource, patchType, requireBodyType, writeOptions, type ResourceRequest, type RestContext } from './rest.js';
import { toTable } from './table.js';
import { serveWatch } from './watch.js';

/** Serves one request for a converted resource. */
export async function handleConverted(ctx: RestContext, info: ResourceInfo, rr: ResourceRequest, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const conv = CONVERTERS[`${info.group}/${info.version}/${info.plural}`];
  const storage = ctx.registry.byPlural(info.group, info.storageVersion!, info.plural);
  if (!conv || !storage) throw errors.noRoute();
  const method = req.method ?? 'GET';
  // Deletes need no conversion of their input.
  if (method === 'DELETE') return handleResource(ctx, { ...rr, version: storage.version }, req, res, q);
  const fmt = negotiate(req.headers.accept).format;
  const ns = info.namespaced ? rr.namespace : undefined;
  const out = (o: KubeObject) => conv.fromStorage(o);
  // Tables are rendered from the stored version, which has every column's data.
  const send = (status: number, o: KubeObject, warnings: string[] = []) => sendFormatted(res, status, fmt === 'table' ? toTable(info.kind, [o], {}) : out(o), fmt === 'yaml' ? 'yaml' : 'json', warnings);
  const sub = rr.subresource;
  if (sub && sub !== 'status') throw errors.noRoute();
  if (method === 'GET' && !rr.name) {
    if (rr.watchPath || parseBool(q, 'watch')) return serveWatch({ ...ctx.watch, render: (o) => (fmt === 'table' ? toTable(info.kind, [o], {}) : out(o)) }, storage, ns, q, res);
    const list = await listObjects(ctx.store, ctx.objects, storage, ns, q);
    if (fmt === 'table') return sendFormatted(res, 200, toTable(info.kind, list.items, list.metadata), 'json');
    return sendFormatted(res, 200, { ...list, apiVersion: apiVersionOf(info), items: list.items.map(out) }, fmt);
  }
  if (method === 'GET') return send(200, await ctx.objects.get(storage, ns, rr.name!));
  const opts = writeOptions(q, req, sub);
  const ct = req.headers['content-type'] ?? 'application/json';
  if (method === 'POST' && !rr.name) {
    requireBodyType(ct);
    const body = decodeObject(parseBody(await readBody(req), ct), info, info.schema, opts.fieldValidation, opts.warnings);
    await ctx.objects.checkNamespace(ctx.registry.byPlural('', 'v1', 'namespaces')!, storage, ns, body.metadata.name ?? '');
    return send(201, await ctx.objects.create(storage, ns, conv.toStorage(body), opts), opts.warnings);
  }
  if (!rr.name) throw errors.methodNotAllowed(method);
  const name = rr.name;
  if (method === 'PUT') {
    requireBodyType(ct);
    const body = decodeObject(parseBody(await readBody(req), ct), info, info.schema, opts.fieldValidation, opts.warnings);
    const cur = await ctx.objects.get(storage, ns, name);
    const r = await ctx.objects.update(storage, ns, name, conv.toStorage(body, cur), opts);
    return send(r.created ? 201 : 200, r.object, opts.warnings);
  }
  if (method === 'PATCH') {
    const type = patchType(ct);
    const patch = parseBody(await readBody(req), ct);
    if (type === 'apply') {
      if (!q.get('fieldManager')) throw errors.badRequest('PATCH, application/apply-patch+yaml requests must have fieldManager set');
      const cfg = decodeObject(patch, info, info.schema, opts.fieldValidation, opts.warnings);
      const cur = await ctx.objects.tryGet(storage, ns, name);
      const r = await ctx.objects.patch(storage, ns, name, 'apply', conv.toStorage(cfg, cur?.obj), opts);
      return send(r.created ? 201 : 200, r.object, opts.warnings);
    }
    // Apply the patch to the served view, then store it with a compare-and-swap on the version read.
    for (let i = 0; i < 5; i++) {
      const cur = await ctx.objects.get(storage, ns, name);
      const view = decodeObject(applyPatch(out(cur), type, patch, info), info, info.schema, opts.fieldValidation, opts.warnings);
      if (view.metadata.resourceVersion && view.metadata.resourceVersion !== cur.metadata.resourceVersion) throw errors.conflict({ group: info.group, plural: info.plural, name });
      const next = conv.toStorage(view, cur);
      next.metadata.resourceVersion = cur.metadata.resourceVersion;
      try {
        return send(200, (await ctx.objects.update(storage, ns, name, next, opts)).object, opts.warnings);
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'Conflict')) throw err;
      }
    }
    throw errors.conflict({ group: info.group, plural: info.plural, name }, 'too many concurrent writers, please retry');
  }
  throw errors.methodNotAllowed(method);
}
