// Per-endpoint diffs between two compilations, so the agent rewrites only
// the policy map entries that changed.
import { compareEntries, entryKey, type EndpointPolicy, type PolicyEntry } from './compiler.js';

export interface EndpointPolicyUpdate {
  /** Pod "namespace/name". */
  endpoint: string;
  /** 'removed': the endpoint is gone, drop all its state. */
  kind: 'added' | 'changed' | 'removed';
  ingressEnforced: boolean;
  egressEnforced: boolean;
  upserts: PolicyEntry[];
  deletes: PolicyEntry[];
}

/** Diff of one endpoint's policy; undefined when nothing changed. */
export function diffEndpointPolicy(
  endpoint: string,
  old: EndpointPolicy | undefined,
  next: EndpointPolicy | undefined,
  memo: EntryDiffMemo = new Map(),
): EndpointPolicyUpdate | undefined {
  if (old && next && old.entries === next.entries && old.ingressEnforced === next.ingressEnforced && old.egressEnforced === next.egressEnforced) return undefined;
  const { upserts, deletes } = diffEntries(old?.entries ?? NONE, next?.entries ?? NONE, memo);
  const kind = !old ? 'added' : !next ? 'removed' : 'changed';
  const flagsChanged = old?.ingressEnforced !== next?.ingressEnforced || old?.egressEnforced !== next?.egressEnforced;
  if (kind === 'changed' && !flagsChanged && upserts.length === 0 && deletes.length === 0) return undefined;
  return {
    endpoint,
    kind,
    ingressEnforced: next?.ingressEnforced ?? false,
    egressEnforced: next?.egressEnforced ?? false,
    upserts: [...upserts],
    deletes: [...deletes],
  };
}

/** Diffs already computed in one policyUpdate call, by (old array, new array). */
type EntryDiffMemo = Map<readonly PolicyEntry[], Map<readonly PolicyEntry[], { upserts: PolicyEntry[]; deletes: PolicyEntry[] }>>;

const NONE: readonly PolicyEntry[] = Object.freeze([]);

// Compiled entry arrays are shared between endpoints with equal policies, so
// a recompile yields few distinct (old, new) pairs; each is diffed once.
function diffEntries(oldEs: readonly PolicyEntry[], newEs: readonly PolicyEntry[], memo: EntryDiffMemo): { upserts: PolicyEntry[]; deletes: PolicyEntry[] } {
  let row = memo.get(oldEs);
  if (!row) memo.set(oldEs, (row = new Map()));
  const hit = row.get(newEs);
  if (hit) return hit;
  // Entries are sorted (the compiler's contract), so one merge pass finds
  // what was added and removed without building keys for every entry.
  const a = sorted(oldEs);
  const b = sorted(newEs);
  const upserts: PolicyEntry[] = [];
  const deletes: PolicyEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : compareEntries(a[i], b[j]);
    if (c === 0) {
      i++;
      j++;
    } else if (c < 0) deletes.push(a[i++]);
    else upserts.push(b[j++]);
  }
  const out = { upserts, deletes };
  row.set(newEs, out);
  return out;
}

function sorted(es: readonly PolicyEntry[]): readonly PolicyEntry[] {
  for (let k = 1; k < es.length; k++) if (compareEntries(es[k - 1], es[k]) > 0) return [...es].sort(compareEntries);
  return es;
}

/** Every endpoint whose policy differs between two compilations, sorted by endpoint. */
export function policyUpdate(old: ReadonlyMap<string, EndpointPolicy>, next: ReadonlyMap<string, EndpointPolicy>): EndpointPolicyUpdate[] {
  const keys = [...new Set([...old.keys(), ...next.keys()])].sort();
  const out: EndpointPolicyUpdate[] = [];
  const memo: EntryDiffMemo = new Map();
  for (const k of keys) {
    const d = diffEndpointPolicy(k, old.get(k), next.get(k), memo);
    if (d) out.push(d);
  }
  return out;
}

/** Applies updates to a copy of `old` (what the agent's map ends up holding). */
export function applyPolicyUpdate(old: ReadonlyMap<string, EndpointPolicy>, updates: EndpointPolicyUpdate[]): Map<string, EndpointPolicy> {
  const out = new Map(old);
  for (const u of updates) {
    if (u.kind === 'removed') {
      out.delete(u.endpoint);
      continue;
    }
    const m = new Map((old.get(u.endpoint)?.entries ?? []).map((e) => [entryKey(e), e]));
    for (const e of u.deletes) m.delete(entryKey(e));
    for (const e of u.upserts) m.set(entryKey(e), e);
    out.set(u.endpoint, { ingressEnforced: u.ingressEnforced, egressEnforced: u.egressEnforced, entries: [...m.values()].sort(compareEntries) });
  }
  return out;
}
