// Query parameters shared by list and watch: selectors and resourceVersion.
import type { KubeObject } from '../api/meta.js';
import type { ResourceInfo } from '../api/registry.js';
import { fieldValue, parseFieldSelector, parseLabelSelector, type FieldSelector, type Selector } from '../api/selectors.js';
import { errors } from './errors.js';

export interface Filter {
  label: Selector;
  field: FieldSelector;
  matches(o: KubeObject): boolean;
}

/** Parses labelSelector/fieldSelector for a resource (400 on bad syntax or unsupported field). */
export function parseFilter(info: ResourceInfo, q: URLSearchParams): Filter {
  const l = parseLabelSelector(q.get('labelSelector') ?? '');
  if (!l.ok) throw errors.badRequest(`unable to parse requirement: ${l.error}`);
  const f = parseFieldSelector(q.get('fieldSelector') ?? '');
  if (!f.ok) throw errors.badRequest(f.error);
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...info.fieldSelectors]);
  for (const r of f.value.requirements) {
    if (!allowed.has(r.field)) throw errors.badRequest(`field label not supported: ${r.field}`);
  }
  const label = l.value;
  const field = f.value;
  return {
    label,
    field,
    matches: (o) => label.matches(o.metadata.labels) && field.matches((name) => selectField(o, name)),
  };
}

function selectField(o: KubeObject, name: string): string | undefined {
  if (name === 'metadata.namespace' && !o.metadata.namespace) return '';
  if (name === 'status.successful') return String((o.status as { succeeded?: number } | undefined)?.succeeded ?? 0);
  if (name === 'source') return fieldValue(o, 'source.component');
  if (name === 'spec.unschedulable' || name === 'spec.hostNetwork') return String(fieldValue(o, name) === 'true');
  if (name === 'status.replicas') return String((o.status as { replicas?: number } | undefined)?.replicas ?? 0);
  return fieldValue(o, name);
}

/** Parses resourceVersion: undefined (unset), 0, or a positive revision (400 otherwise). */
export function parseResourceVersion(q: URLSearchParams): number | undefined {
  const rv = q.get('resourceVersion');
  if (rv === null || rv === '') return undefined;
  if (!/^\d+$/.test(rv)) throw errors.badRequest(`invalid resource version "${rv}"`);
  return Number(rv);
}

export function parseIntParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw errors.badRequest(`invalid value for ${name}: "${v}"`);
  return Number(v);
}

export function parseBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === '1' || v === 'true' || v === 'True';
}
