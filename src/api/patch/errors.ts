// Patch failures: the request was well-formed JSON but cannot be applied.
export class PatchError extends Error {
  readonly code = 'PATCH_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}
