// Typed store errors: expected failures the API server maps to HTTP statuses.
// Each carries a stable `code` so callers match on it, never on text.

export type StoreErrorCode = 'KEY_EXISTS' | 'NOT_FOUND' | 'CONFLICT' | 'COMPACTED' | 'CLOSED' | 'INVALID_CONTINUE';

/** Base class of every expected store failure. */
export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** create() found a live object at the key. */
export class KeyExistsError extends StoreError {
  constructor(readonly key: string) {
    super('KEY_EXISTS', `key already exists: ${key}`);
  }
}

/** get/update/delete found no live object at the key. */
export class NotFoundError extends StoreError {
  constructor(readonly key: string) {
    super('NOT_FOUND', `key not found: ${key}`);
  }
}

/** A compare-and-swap precondition did not hold: the key changed since `expected`. */
export class ConflictError extends StoreError {
  constructor(readonly key: string, readonly expected: number, readonly actual: number) {
    super('CONFLICT', `revision mismatch on ${key}: expected ${expected}, found ${actual}`);
  }
}

/** The requested revision was compacted away; the caller must relist. */
export class CompactedError extends StoreError {
  constructor(readonly requested: number, readonly compacted: number) {
    super('COMPACTED', `revision ${requested} has been compacted (compacted up to ${compacted})`);
  }
}

/** A continue token that this store did not issue. */
export class InvalidContinueError extends StoreError {
  constructor() {
    super('INVALID_CONTINUE', 'continue token is not valid');
  }
}

/** The store was closed. */
export class StoreClosedError extends StoreError {
  constructor() {
    super('CLOSED', 'store is closed');
  }
}

/** True when err is a StoreError with the given code. */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
