// JSON merge patch (RFC 7386): objects merge recursively, null deletes, everything else replaces.
import { clone, isPlainObject } from './errors.js';

/** Returns target with patch merged in (neither input is modified). */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
