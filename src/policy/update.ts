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
export function diffEndpointPolicy(endpoint: string, old: EndpointPolicy | undefined, next: EndpointPolicy | undefined): EndpointPolicyUpdate | undefined {
  if (old && next && old.entries === next.entries && old.ingressEnforced === next.ingressEnforced && old.egressEnforced === next.egressEnforced) return undefined;
  const before = new Map((old?.entries ?? []).map((e) => [entryKey(e), e]));
  const after = new Map((next?.entries ?? []).map((e) => [entryKey(e), e]));
  const upserts = [...after].filter(([k]) => !before.has(k)).map(([, e]) => e);
  const deletes = [...before].filter(([k]) => !after.has(k)).map(([, e]) => e);
  const kind = !old ? 'added' : !next ? 'removed' : 'changed';
  const flagsChanged = old?.ingressEnforced !== next?.ingressEnforced || old?.egressEnforced !== next?.egressEnforced;
  if (kind === 'changed' && !flagsChanged && upserts.length === 0 && deletes.length === 0) return undefined;
  return {
    endpoint,
    kind,
    ingressEnforced: next?.ingressEnforced ?? false,
    egressEnforced: next?.egressEnforced ?? false,
    upserts,
    deletes,
  };
}

/** Every endpoint whose policy differs between two compilations, sorted by endpoint. */
export function policyUpdate(old: ReadonlyMap<string, EndpointPolicy>, next: ReadonlyMap<string, EndpointPolicy>): EndpointPolicyUpdate[] {
  const keys = [...new Set([...old.keys(), ...next.keys()])].sort();
  const out: EndpointPolicyUpdate[] = [];
  for (const k of keys) {
    const d = diffEndpointPolicy(k, old.get(k), next.get(k));
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
