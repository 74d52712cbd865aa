// API errors: every expected failure becomes a Kubernetes Status object with
// a stable reason and HTTP code.
import type { Status, StatusCause } from '../api/meta.js';
import { ApplyConflictError } from '../api/patch/apply.js';
import { PatchError } from '../api/patch/errors.js';
import { isStoreError } from '../store/errors.js';
import type { FieldError } from '../api/validation.js';

export type Reason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'Timeout'
  | 'InternalError'
  | 'ServiceUnavailable';

export interface Details {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

/** An API failure carrying everything its Status needs. */
export class ApiError extends Error {
  readonly code = 'API_ERROR';
  constructor(readonly status: number, readonly reason: Reason, message: string, readonly details?: Details) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ResourceRef {
  group: string;
  plural: string;
  name?: string;
}

function qualified(r: ResourceRef): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

export const errors = {
  badRequest: (msg: string) => new ApiError(400, 'BadRequest', msg),
  notFound: (r: ResourceRef) => new ApiError(404, 'NotFound', `${qualified(r)} "${r.name ?? ''}" not found`, { name: r.name, group: r.group, kind: r.plural }),
  noRoute: () => new ApiError(404, 'NotFound', 'the server could not find the requested resource'),
  methodNotAllowed: (method: string) => new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`),
  alreadyExists: (r: ResourceRef) => new ApiError(409, 'AlreadyExists', `${qualified(r)} "${r.name ?? ''}" already exists`, { name: r.name, group: r.group, kind: r.plural }),
  conflict: (r: ResourceRef, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${r.name ?? ''}": ${why}`, { name: r.name, group: r.group, kind: r.plural }),
  invalid: (kind: string, group: string, name: string, errs: FieldError[]) =>
    new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${errs.map((e) => `${e.field}: ${e.message}`).join(', ')}`, {
      name,
      group,
      kind,
      causes: errs.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
    }),
  gone: (msg: string) => new ApiError(410, 'Expired', msg),
  forbidden: (r: ResourceRef, why: string) => new ApiError(403, 'Forbidden', `${qualified(r)} "${r.name ?? ''}" is forbidden: ${why}`, { name: r.name, group: r.group, kind: r.plural }),
  unsupportedMedia: (ct: string) => new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${JSON.stringify(ct)})`),
  notAcceptable: () => new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io'),
  tooLarge: () => new ApiError(413, 'RequestEntityTooLarge', 'the request is too large'),
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
};

/** Builds the Status body for an ApiError. */
export function toStatus(err: ApiError): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, code: err.status };
  if (err.details) s.details = err.details;
  return s;
}

/** Maps typed failures from lower layers to ApiErrors; anything else is a bug (500). */
export function asApiError(err: unknown, ref?: ResourceRef): ApiError {
  if (err instanceof ApiError) return err;
  if (ref && isStoreError(err, 'NOT_FOUND')) return errors.notFound(ref);
  if (ref && isStoreError(err, 'KEY_EXISTS')) return errors.alreadyExists(ref);
  if (ref && isStoreError(err, 'CONFLICT')) return errors.conflict(ref);
  if (isStoreError(err, 'COMPACTED')) return errors.gone(`too old resource version: ${(err as unknown as { requested: number }).requested} (${(err as unknown as { compacted: number }).compacted})`);
  if (isStoreError(err, 'INVALID_CONTINUE')) return errors.badRequest('continue key is not valid');
  if (err instanceof PatchError) return new ApiError(422, 'Invalid', err.message);
  if (err instanceof ApplyConflictError) {
    return new ApiError(409, 'Conflict', err.message, { causes: err.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: c.field })) });
  }
  return new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`);
}
