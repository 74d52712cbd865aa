// Validation framework and the checks shared by every kind: field errors with
// paths that the API server turns into 422 Invalid causes.
import type { KubeObject, LabelSelector } from './meta.js';
import { DNS1123_LABEL_MSG, DNS1123_SUBDOMAIN_MSG, isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isLabelValue, isPortName, isQualifiedName } from './names.js';

export type FieldErrorType = 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate' | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueNotFound';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  message: string;
}

/** Collects field errors under a path. */
export class Errors {
  readonly list: FieldError[] = [];

  required(field: string, detail = ''): void {
    this.list.push({ type: 'FieldValueRequired', field, message: `Required value${detail ? `: ${detail}` : ''}` });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.list.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${fmt(value)}: ${detail}` });
  }
  notSupported(field: string, value: unknown, allowed: string[]): void {
    this.list.push({ type: 'FieldValueNotSupported', field, message: `Unsupported value: ${fmt(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}` });
  }
  duplicate(field: string, value: unknown): void {
    this.list.push({ type: 'FieldValueDuplicate', field, message: `Duplicate value: ${fmt(value)}` });
  }
  notFound(field: string, value: unknown): void {
    this.list.push({ type: 'FieldValueNotFound', field, message: `Not found: ${fmt(value)}` });
  }
  forbidden(field: string, detail: string): void {
    this.list.push({ type: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` });
  }
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v ?? null);
}

export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path';

/** Checks a name against the kind's naming rule. */
export function validateName(errs: Errors, field: string, name: string, rule: NameRule): void {
  if (rule === 'subdomain' && !isDNS1123Subdomain(name)) errs.invalid(field, name, `${DNS1123_SUBDOMAIN_MSG} (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`);
  if (rule === 'label' && !isDNS1123Label(name)) errs.invalid(field, name, `${DNS1123_LABEL_MSG} (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`);
  if (rule === 'dns1035' && !isDNS1035Label(name)) errs.invalid(field, name, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
  if (rule === 'path' && (name === '.' || name === '..' || name.includes('/') || name.includes('%'))) errs.invalid(field, name, 'may not contain "/" or "%" and may not be "." or ".."');
}

export function validateLabels(errs: Errors, field: string, labels: unknown): void {
  if (labels === undefined || labels === null) return;
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    if (!isQualifiedName(k)) errs.invalid(field, k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
    if (typeof v !== 'string' || !isLabelValue(v)) errs.invalid(`${field}.${k}`, v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  }
}

export function validateAnnotations(errs: Errors, field: string, ann: unknown): void {
  if (ann === undefined || ann === null) return;
  let size = 0;
  for (const [k, v] of Object.entries(ann as Record<string, unknown>)) {
    if (!isQualifiedName(k.toLowerCase())) errs.invalid(field, k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
    size += k.length + String(v).length;
  }
  if (size > 256 * 1024) errs.list.push({ type: 'FieldValueTooLong', field, message: 'Too long: must have at most 262144 bytes' });
}

/** metadata checks common to all kinds. */
export function validateMeta(errs: Errors, obj: KubeObject, namespaced: boolean, rule: NameRule): void {
  const m = obj.metadata;
  if (!m.name) errs.required('metadata.name', 'name or generateName is required');
  else validateName(errs, 'metadata.name', m.name, rule);
  if (namespaced && !m.namespace) errs.required('metadata.namespace');
  if (!namespaced && m.namespace) errs.forbidden('metadata.namespace', 'not allowed on this type');
  validateLabels(errs, 'metadata.labels', m.labels);
  validateAnnotations(errs, 'metadata.annotations', m.annotations);
  for (const [i, f] of (m.finalizers ?? []).entries()) {
    if (typeof f !== 'string' || !isQualifiedName(f)) errs.invalid(`metadata.finalizers[${i}]`, f, 'must be a qualified name');
  }
  for (const [i, o] of (m.ownerReferences ?? []).entries()) {
    for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const) if (!o[f]) errs.required(`metadata.ownerReferences[${i}].${f}`);
  }
}

export function validatePort(errs: Errors, field: string, port: unknown, allowZero = false): void {
  if (typeof port !== 'number' || !Number.isInteger(port) || port > 65535 || port < (allowZero ? 0 : 1)) {
    errs.invalid(field, port, `must be between ${allowZero ? 0 : 1} and 65535, inclusive`);
  }
}

export function validatePortName(errs: Errors, field: string, name: string): void {
  if (!isPortName(name)) errs.invalid(field, name, 'must contain only lowercase alphanumerics and "-", at least one letter, at most 15 characters');
}

export function validateIntOrPercent(errs: Errors, field: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v === 'number') {
    if (v < 0) errs.invalid(field, v, 'must be greater than or equal to 0');
  } else if (typeof v !== 'string' || !/^\d+%$/.test(v)) errs.invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
}

export function validateProtocol(errs: Errors, field: string, p: unknown): void {
  if (p !== undefined && !['TCP', 'UDP', 'SCTP'].includes(p as string)) errs.notSupported(field, p, ['SCTP', 'TCP', 'UDP']);
}

export function validateNonNegative(errs: Errors, field: string, v: unknown): void {
  if (v !== undefined && (typeof v !== 'number' || v < 0)) errs.invalid(field, v, 'must be greater than or equal to 0');
}

/** LabelSelector object syntax. */
export function validateLabelSelector(errs: Errors, field: string, sel: LabelSelector | undefined): void {
  if (!sel) return;
  validateLabels(errs, `${field}.matchLabels`, sel.matchLabels);
  for (const [i, e] of (sel.matchExpressions ?? []).entries()) {
    const f = `${field}.matchExpressions[${i}]`;
    if (!e.key) errs.required(`${f}.key`);
    else if (!isQualifiedName(e.key)) errs.invalid(`${f}.key`, e.key, 'must be a qualified name');
    if (['In', 'NotIn'].includes(e.operator)) {
      if (!e.values?.length) errs.required(`${f}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\'');
    } else if (['Exists', 'DoesNotExist'].includes(e.operator)) {
      if (e.values?.length) errs.forbidden(`${f}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else errs.notSupported(`${f}.operator`, e.operator, ['In', 'NotIn', 'Exists', 'DoesNotExist']);
  }
}

/** True if a matchLabels/matchExpressions selector selects the given labels. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = k(l, e.key);
    if (e.operator === 'In' && !(has && e.values?.includes(l[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values?.includes(l[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function k(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}
