// Request-body decoding: JSON/YAML parsing, apiVersion/kind checks and strict
// or warned unknown fields, before anything reaches the object layer.
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf, type ResourceInfo } from '../api/registry.js';
import { checkShape, pruneUnknown, type Schema } from '../api/schema.js';
import { errors } from './errors.js';
import { decodeProtobufObject, PROTOBUF } from './proto.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Parses a body by content type; YAML is accepted where Kubernetes accepts it. */
export function parseBody(body: Buffer, contentType: string): unknown {
  const ct = contentType.split(';')[0].trim().toLowerCase();
  if (ct === PROTOBUF) return decodeProtobufObject(body);
  const text = body.toString('utf8');
  if (!text.trim()) throw errors.badRequest('request body must not be empty');
  try {
    if (ct === 'application/yaml' || ct === 'application/apply-patch+yaml' || ct === 'application/x-yaml' || ct === 'text/yaml') {
      return parseYaml(text, { maxAliasCount: 100 });
    }
    return JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`error decoding ${ct.includes('yaml') ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Validates that a decoded body is an object of this resource's kind and schema. */
export function decodeObject(raw: unknown, info: { kind: string; group: string; version: string }, schema: Schema | undefined, mode: FieldValidation, warnings: string[]): KubeObject {
  const gv = apiVersionOf(info);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw errors.badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: expected a JSON object`);
  const o = dropNulls(raw) as KubeObject;
  if (o.apiVersion !== undefined && o.apiVersion !== gv) throw errors.badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${gv})`);
  if (o.kind !== undefined && o.kind !== info.kind) throw errors.badRequest(`the kind in the data (${String(o.kind)}) does not match the expected kind (${info.kind})`);
  if (o.metadata === undefined || o.metadata === null) o.metadata = {};
  if (schema) {
    const issues = checkShape(o, schema);
    if (issues.mistyped.length) {
      const m = issues.mistyped[0];
      throw errors.badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: json: cannot unmarshal ${m.got} into Go struct field .${m.path} of type ${m.expected}`);
    }
    if (issues.unknown.length && mode === 'Strict') {
      throw errors.badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${issues.unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
    }
    if (mode === 'Warn') for (const u of issues.unknown) warnings.push(`unknown field "${u}"`);
    if (issues.unknown.length) pruneUnknown(o, schema);
  }
  o.apiVersion = gv;
  o.kind = info.kind;
  return o;
}

/** JSON null means "unset": drop null fields and null list elements so later stages see only values. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(dropNulls);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

export function resourceSchema(info: ResourceInfo): Schema | undefined {
  return info.schema;
}
