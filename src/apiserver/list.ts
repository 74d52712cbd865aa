// List with label/field selectors, limit/continue and resourceVersion
// semantics, reading the store in pages until the limit is filled.
import type { KubeList, KubeObject } from '../api/meta.js';
import { apiVersionOf, type ResourceInfo } from '../api/registry.js';
import { encodeContinue } from '../store/types.js';
import type { Store } from '../store/types.js';
import { asApiError, errors } from './errors.js';
import type { Objects } from './objects.js';
import { parseFilter, parseIntParam, parseResourceVersion } from './query.js';

/** Serves a list request for one collection. */
export async function listObjects(store: Store, objects: Objects, info: ResourceInfo, ns: string | undefined, q: URLSearchParams): Promise<KubeList> {
  const filter = parseFilter(info, q);
  const limit = parseIntParam(q, 'limit') ?? 0;
  if (limit < 0) throw errors.badRequest('limit must be non-negative');
  const rv = parseResourceVersion(q);
  const match = q.get('resourceVersionMatch') ?? '';
  if (match && !['Exact', 'NotOlderThan'].includes(match)) throw errors.badRequest(`resourceVersionMatch: Unsupported value: "${match}"`);
  if (match && rv === undefined) throw errors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  let token = q.get('continue') || undefined;
  if (token && rv) throw errors.badRequest('specifying resource version is not allowed when using continue');
  const revision = match === 'Exact' ? rv : undefined;
  const prefix = objects.prefix(info, ns);
  const items: KubeObject[] = [];
  let listRev = 0;
  let next: string | undefined;
  let remaining: number | undefined;
  try {
    // Read pages until `limit` matching items are found; the continue token resumes after the last examined key.
    for (;;) {
      const want = limit ? Math.max(limit - items.length, 50) : 0;
      const page = await store.list(prefix, { revision: token ? undefined : revision, limit: want, continue: token });
      listRev = page.revision;
      let lastKey: string | undefined;
      let stoppedEarly = false;
      for (const kv of page.items) {
        const o = objects.decode(kv);
        lastKey = kv.key;
        if (filter.matches(o)) items.push(o);
        if (limit && items.length >= limit) {
          stoppedEarly = kv !== page.items[page.items.length - 1] || !!page.continue;
          break;
        }
      }
      if (limit && items.length >= limit) {
        if (stoppedEarly && lastKey) {
          next = encodeContinue(listRev, lastKey);
          if (filter.label.requirements.length === 0 && filter.field.requirements.length === 0) {
            const rest = await store.list(prefix, { continue: next });
            remaining = rest.items.length;
          }
        }
        break;
      }
      if (!page.continue) break;
      token = page.continue;
    }
  } catch (err) {
    throw asApiError(err);
  }
  const list: KubeList = { kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata: { resourceVersion: String(listRev) }, items };
  for (const o of items) {
    o.apiVersion ??= apiVersionOf(info);
    o.kind ??= info.kind;
  }
  if (next) list.metadata.continue = next;
  if (remaining !== undefined && remaining > 0) list.metadata.remainingItemCount = remaining;
  return list;
}
