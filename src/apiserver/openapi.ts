// OpenAPI v2 and v3 documents generated from the schemas in src/api, with the
// vendor extensions kubectl reads (group-version-kind, patch merge keys,
// list types) and the fieldValidation parameter on PATCH so kubectl leaves
// field validation to the server.
import { apiVersionOf, type Registry, type ResourceInfo } from '../api/registry.js';
import type { Schema } from '../api/schema.js';

type Json = Record<string, unknown>;

function defName(r: { group: string; version: string; kind: string }): string {
  const g = r.group === '' ? 'core' : r.group.split('.')[0];
  return `io.k8s.api.${g}.${r.version}.${r.kind}`;
}

/** Converts a schema to an OpenAPI schema object. */
export function toOpenApi(s: Schema): Json {
  switch (s.t) {
    case 'string':
      return { type: 'string', ...(s.enum ? { enum: s.enum } : {}), ...(s.format ? { format: s.format } : {}) };
    case 'integer':
      return { type: 'integer', format: 'int64' };
    case 'number':
      return { type: 'number', format: 'double' };
    case 'boolean':
      return { type: 'boolean' };
    case 'intOrString':
      return { type: 'string', format: 'int-or-string', 'x-kubernetes-int-or-string': true };
    case 'quantity':
      return { type: 'string', format: 'quantity', 'x-kubernetes-int-or-string': true };
    case 'any':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case 'map':
      return { type: 'object', additionalProperties: toOpenApi(s.values) };
    case 'object': {
      const o: Json = { type: 'object', properties: Object.fromEntries(Object.entries(s.props).map(([k, v]) => [k, toOpenApi(v)])) };
      if (s.required?.length) o.required = s.required;
      if (s.open) o['x-kubernetes-preserve-unknown-fields'] = true;
      return o;
    }
    case 'array': {
      const a: Json = { type: 'array', items: toOpenApi(s.items), 'x-kubernetes-list-type': s.list };
      if (s.list === 'map' && s.keys) {
        a['x-kubernetes-list-map-keys'] = s.keys;
        a['x-kubernetes-patch-merge-key'] = s.keys[0];
        a['x-kubernetes-patch-strategy'] = 'merge';
      }
      if (s.list === 'set') a['x-kubernetes-patch-strategy'] = 'merge';
      return a;
    }
  }
}

function gvk(r: ResourceInfo) {
  return { group: r.group, version: r.version, kind: r.kind };
}

const queryParam = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });

function paths(r: ResourceInfo, v3: boolean): [string, Json][] {
  const base = r.group ? `/apis/${r.group}/${r.version}` : '/api/v1';
  const coll = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const ref = v3 ? { $ref: `#/components/schemas/${defName(r)}` } : { $ref: `#/definitions/${defName(r)}` };
  const ok = v3 ? { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } } : { '200': { description: 'OK', schema: ref } };
  const ext = { 'x-kubernetes-group-version-kind': gvk(r) };
  const params = [queryParam('dryRun'), queryParam('fieldManager'), queryParam('fieldValidation')];
  const op = (id: string, action: string, extra: Json = {}) => ({ operationId: `${id}${r.kind}`, tags: [apiVersionOf(r)], 'x-kubernetes-action': action, ...ext, responses: ok, ...extra });
  if (r.virtual) return [[coll, { post: op('create', 'post', { parameters: params }) }]];
  return [
    [coll, { get: op('list', 'list'), post: op('create', 'post', { parameters: params }) }],
    [
      `${coll}/{name}`,
      {
        get: op('read', 'get'),
        put: op('replace', 'put', { parameters: params }),
        patch: op('patch', 'patch', { parameters: [...params, queryParam('force')] }),
        delete: op('delete', 'delete'),
      },
    ],
  ];
}

function definitions(reg: Registry, rs: ResourceInfo[]): Json {
  const defs: Json = {};
  for (const r of rs) defs[defName(r)] = { ...toOpenApi(r.schema), 'x-kubernetes-group-version-kind': [gvk(r)] };
  void reg;
  return defs;
}

/** GET /openapi/v2 (JSON). */
export function openApiV2(reg: Registry, version: string): Json {
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version },
    paths: Object.fromEntries(reg.all.flatMap((r) => paths(r, false))),
    definitions: definitions(reg, reg.all),
  };
}

/** GET /openapi/v3: index of group-version documents. */
export function openApiV3Index(reg: Registry, hash: string): Json {
  const out: Json = {};
  for (const [g, versions] of reg.groups()) {
    for (const v of versions) {
      const p = g ? `apis/${g}/${v}` : 'api/v1';
      out[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    }
  }
  return { paths: out };
}

/** GET /openapi/v3/<api/v1|apis/g/v>. */
export function openApiV3Doc(reg: Registry, path: string, version: string): Json | undefined {
  const m = path.match(/^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/);
  if (!m) return undefined;
  const group = m[1] ? '' : m[2];
  const ver = m[1] ?? m[3];
  const rs = reg.all.filter((r) => r.group === group && r.version === ver);
  if (!rs.length) return undefined;
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version },
    paths: Object.fromEntries(rs.flatMap((r) => paths(r, true))),
    components: { schemas: definitions(reg, rs) },
  };
}
