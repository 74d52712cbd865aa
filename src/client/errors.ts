// Errors of the API client: one class with a stable code, carrying the
// HTTP status and the Kubernetes Status reason so callers branch on values.
import type { Status } from '../api/meta.js';

export type ClientErrorCode =
  | 'CLIENT_ERR_NOT_FOUND'
  | 'CLIENT_ERR_CONFLICT'
  | 'CLIENT_ERR_ALREADY_EXISTS'
  | 'CLIENT_ERR_INVALID'
  | 'CLIENT_ERR_GONE'
  | 'CLIENT_ERR_FORBIDDEN'
  | 'CLIENT_ERR_HTTP'
  | 'CLIENT_ERR_NETWORK'
  | 'CLIENT_ERR_ABORTED'
  | 'CLIENT_ERR_CONFIG';

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  readonly status: number;
  readonly reason: string | undefined;
  readonly body: Status | undefined;
  constructor(code: ClientErrorCode, message: string, status = 0, body?: Status) {
    super(message);
    this.name = 'ClientError';
    this.code = code;
    this.status = status;
    this.reason = body?.reason;
    this.body = body;
  }
}

/** Maps an HTTP failure to a ClientError with the code a caller checks. */
export function httpError(status: number, body: Status | undefined, what: string): ClientError {
  const reason = body?.reason;
  let code: ClientErrorCode = 'CLIENT_ERR_HTTP';
  if (status === 404) code = 'CLIENT_ERR_NOT_FOUND';
  else if (status === 409 && reason === 'AlreadyExists') code = 'CLIENT_ERR_ALREADY_EXISTS';
  else if (status === 409) code = 'CLIENT_ERR_CONFLICT';
  else if (status === 422) code = 'CLIENT_ERR_INVALID';
  else if (status === 410) code = 'CLIENT_ERR_GONE';
  else if (status === 403) code = 'CLIENT_ERR_FORBIDDEN';
  return new ClientError(code, `${what}: ${status} ${body?.message ?? ''}`.trim(), status, body);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ClientError && err.code === 'CLIENT_ERR_NOT_FOUND';
}
export function isConflict(err: unknown): boolean {
  return err instanceof ClientError && err.code === 'CLIENT_ERR_CONFLICT';
}
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ClientError && err.code === 'CLIENT_ERR_ALREADY_EXISTS';
}
export function isGone(err: unknown): boolean {
  return err instanceof ClientError && err.code === 'CLIENT_ERR_GONE';
}
