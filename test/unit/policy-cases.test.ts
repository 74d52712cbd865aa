import { describe, expect, it } from 'vitest';
import { compilePolicies, type CompiledPolicies } from '../../src/policy/compiler.js';
import { evaluateCompiled } from '../../src/policy/evaluate.js';
import { HeldIdentities } from '../../src/policy/identity.js';
import { Ipcache } from '../../src/policy/ipcache.js';
import { allowed, type Endpoint, type ModelOptions } from '../../src/policy/model.js';
import type { ClusterState, NetworkPolicy, Pod } from '../../src/policy/types.js';
import { applyPolicyUpdate, policyUpdate } from '../../src/policy/update.js';
import { baseCluster, EXTERNAL_IPS, POLICY_CASES, PROBES, type PolicyCase } from '../helpers/policy-cases.js';

const name = (e: Endpoint) => ('pod' in e ? `${e.pod.metadata.namespace}/${e.pod.metadata.name}` : e.ip);

function stateOf(c: PolicyCase, policies: NetworkPolicy[]): ClusterState {
  const base = baseCluster();
  return { ...base, pods: [...base.pods, ...(c.extraPods ?? [])], policies };
}

/** Every (from, to, probe) where the compiled answer differs from the model's. */
function mismatches(state: ClusterState, compiled: CompiledPolicies, opts: ModelOptions): string[] {
  const cache = new Ipcache(compiled.ipcache);
  const eps: Endpoint[] = [...state.pods.map((pod) => ({ pod })), ...EXTERNAL_IPS.map((ip) => ({ ip }))];
  const out: string[] = [];
  for (const f of eps) {
    for (const t of eps) {
      if (!('pod' in f) && !('pod' in t)) continue;
      for (const { proto, port } of PROBES) {
        const want = allowed(state.policies, state.pods, state.namespaces, f, t, proto, port, opts);
        const got = evaluateCompiled(compiled, cache, f, t, proto, port, opts);
        if (want !== got) out.push(`${name(f)} -> ${name(t)} ${proto}/${port}: model ${want}, compiled ${got}`);
      }
    }
  }
  return out;
}

/** The 9x9 pod matrix per probe, in the hand-written format ('.' allowed). */
function matrix(pods: Pod[], verdict: (f: Pod, t: Pod, proto: 'TCP' | 'UDP' | 'SCTP', port: number) => boolean): Record<string, string[]> {
  const nine = pods.slice(0, 9);
  const out: Record<string, string[]> = {};
  for (const { proto, port } of PROBES) {
    out[`${proto}/${port}`] = nine.map((f) =>
      nine.map((t, i) => (verdict(f, t, proto, port) ? '.' : 'X') + (i % 3 === 2 && i < 8 ? ' ' : '')).join(''),
    );
  }
  return out;
}

function checkStep(state: ClusterState, compiled: CompiledPolicies, expected: Record<string, string[]> | undefined): void {
  expect(mismatches(state, compiled, { loopback: 'allow' })).toEqual([]);
  expect(mismatches(state, compiled, { loopback: 'policy' })).toEqual([]);
  if (!expected) return;
  const cache = new Ipcache(compiled.ipcache);
  const model = matrix(state.pods, (f, t, proto, port) => allowed(state.policies, state.pods, state.namespaces, { pod: f }, { pod: t }, proto, port));
  const comp = matrix(state.pods, (f, t, proto, port) => evaluateCompiled(compiled, cache, { pod: f }, { pod: t }, proto, port));
  expect(model).toEqual(expected);
  expect(comp).toEqual(expected);
}

describe('NetworkPolicy cases: compiler output agrees with the reference model', () => {
  it('has at least 40 cases with unique names', () => {
    expect(POLICY_CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(POLICY_CASES.map((c) => c.name)).size).toBe(POLICY_CASES.length);
  });

  for (const c of POLICY_CASES) {
    it(c.name, () => {
      const ids = new HeldIdentities();
      const state = stateOf(c, c.policies);
      const compiled = compilePolicies(state, ids);
      ids.sweep();
      checkStep(state, compiled, c.expect);
      if (c.then === undefined) return;
      const next = stateOf(c, c.then);
      const recompiled = compilePolicies(next, ids);
      ids.sweep();
      checkStep(next, recompiled, c.expectThen);
      // Pod identities are stable across the update, and the per-endpoint
      // diff turns the old endpoint policies into exactly the new ones.
      expect(recompiled.podIdentities).toEqual(compiled.podIdentities);
      const updates = policyUpdate(compiled.endpoints, recompiled.endpoints);
      expect(applyPolicyUpdate(compiled.endpoints, updates)).toEqual(recompiled.endpoints);
    });
  }
});
