import { describe, expect, it } from 'vitest';
import { compilePolicies, type CompiledPolicies } from '../../src/policy/compiler.js';
import { HeldIdentities, IDENTITY_ANY, IDENTITY_HOST, IDENTITY_WORLD } from '../../src/policy/identity.js';
import { IncrementalCompiler } from '../../src/policy/incremental.js';
import { baseCluster, POLICY_CASES } from '../helpers/policy-cases.js';
import type { ClusterState, LabelSelector, Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Pod, PolicyType } from '../../src/policy/types.js';

// The incremental compiler must give exactly what a full compile of the same
// state gives, after any sequence of changes: random policies, pods,
// namespaces, relabels, address and port changes, and endpoint-set changes,
// compared after every step with identities translated back to their keys
// (the two compilers number identities in different orders).
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const int = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const maybe = (p = 0.5) => int(1000) < p * 1000;
  return { int, pick, maybe };
}

type Rng = ReturnType<typeof rng>;
const NS = ['x', 'y', 'z', 'w'];
const APPS = ['a', 'b', 'c'];
// A small address pool: duplicates happen, and some equal ipBlock /32s.
const IPS = ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.2.1', '10.0.2.2', '10.0.3.2', '10.0.3.3', '192.168.7.1', '10.0.9.1', 'fd00::1'];
const CIDRS: Record<string, string[]> = {
  '10.0.0.0/16': ['10.0.2.0/24', '10.0.3.2/32'],
  '10.0.1.0/24': ['10.0.1.2/32'],
  '10.0.3.2/32': [],
  '10.0.1.1/32': [],
  '0.0.0.0/0': ['10.0.0.0/8'],
  '192.168.0.0/16': ['192.168.7.0/24'],
};

function selector(r: Rng, key: string, values: string[]): LabelSelector {
  switch (r.int(5)) {
    case 0:
      return {};
    case 1:
      return { matchLabels: { [key]: r.pick(values) } };
    case 2:
      return { matchExpressions: [{ key, operator: r.pick(['In', 'NotIn'] as const), values: values.filter(() => r.maybe()) }] };
    case 3:
      return { matchExpressions: [{ key: r.maybe(0.7) ? key : 'other', operator: r.pick(['Exists', 'DoesNotExist'] as const) }] };
    default:
      return { matchLabels: { [key]: r.pick(values) }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['t1'] }] };
  }
}

function peer(r: Rng): NetworkPolicyPeer {
  switch (r.int(6)) {
    case 0:
      return { podSelector: selector(r, 'app', APPS) };
    case 1:
      return { namespaceSelector: selector(r, 'team', ['red', 'blue']) };
    case 2:
      return { podSelector: selector(r, 'app', APPS), namespaceSelector: selector(r, 'ns', NS) };
    case 3:
      return {};
    default: {
      const cidr = r.pick(Object.keys(CIDRS));
      return { ipBlock: { cidr, except: CIDRS[cidr].filter(() => r.maybe(0.5)) } };
    }
  }
}

function port(r: Rng): NetworkPolicyPort {
  const protocol = r.maybe(0.2) ? undefined : r.pick(['TCP', 'UDP'] as const);
  switch (r.int(4)) {
    case 0:
      return { protocol };
    case 1:
      return { protocol, port: r.pick([80, 81]) };
    case 2:
      return { protocol, port: 79, endPort: r.pick([80, 100]) };
    default:
      return { protocol, port: r.pick(['http', 'dns', 'nope']) };
  }
}

function policy(r: Rng, name: string): NetworkPolicy {
  const list = <T>(f: () => T, max: number): T[] | undefined => (r.maybe(0.15) ? undefined : Array.from({ length: r.int(max + 1) }, f));
  const types = r.pick<PolicyType[] | undefined>([undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
  return {
    metadata: { name, namespace: r.pick(NS) },
    spec: {
      podSelector: selector(r, 'app', APPS),
      ...(types ? { policyTypes: types } : {}),
      ingress: list(() => ({ from: list(() => peer(r), 2), ports: list(() => port(r), 2) }), 2),
      egress: list(() => ({ to: list(() => peer(r), 2), ports: list(() => port(r), 2) }), 2),
    },
  };
}

function pod(r: Rng, ns: string, name: string): Pod {
  const labels: Record<string, string> = { app: r.pick(APPS) };
  if (r.maybe(0.3)) labels.tier = r.pick(['t1', 't2']);
  const ips = r.maybe(0.1) ? [] : [r.pick(IPS), ...(r.maybe(0.1) ? [r.pick(IPS)] : [])];
  return {
    metadata: { namespace: ns, name, labels },
    spec: {
      containers: [{ name: 'c', ports: r.maybe(0.8) ? [{ name: 'http', containerPort: r.pick([80, 81]) }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] : [] }],
      ...(r.maybe(0.05) ? { hostNetwork: true } : {}),
    },
    status: { podIPs: ips.map((ip) => ({ ip })) },
  };
}

function namespace(r: Rng, name: string): Namespace {
  return { metadata: { name, labels: { ns: name, ...(r.maybe(0.6) ? { team: r.pick(['red', 'blue']) } : {}) } } };
}

let serial = 0;

/** One random change to the state (returns a new state; unchanged objects are shared). */
function mutate(r: Rng, s: ClusterState): ClusterState {
  const step = ++serial; // names stay unique, as the API server keeps them
  const next = { policies: [...s.policies], pods: [...s.pods], namespaces: [...s.namespaces] };
  switch (r.int(10)) {
    case 0:
    case 1:
      next.policies.push(policy(r, `p${step}`));
      break;
    case 2:
      if (next.policies.length) next.policies.splice(r.int(next.policies.length), 1);
      break;
    case 3:
      if (next.policies.length) {
        const i = r.int(next.policies.length);
        const p = policy(r, next.policies[i].metadata.name);
        next.policies[i] = { ...p, metadata: next.policies[i].metadata };
      }
      break;
    case 4:
      next.pods.push(pod(r, r.pick(NS), `q${step}`));
      break;
    case 5:
      if (next.pods.length) next.pods.splice(r.int(next.pods.length), 1);
      break;
    case 6: {
      // Relabel, readdress or re-port a pod: a new object, as an informer delivers.
      if (!next.pods.length) break;
      const i = r.int(next.pods.length);
      const fresh = pod(r, next.pods[i].metadata.namespace!, next.pods[i].metadata.name);
      next.pods[i] = r.maybe() ? { ...next.pods[i], metadata: fresh.metadata } : fresh;
      break;
    }
    case 7: {
      const name = r.pick(NS);
      const i = next.namespaces.findIndex((n) => n.metadata.name === name);
      if (i < 0) next.namespaces.push(namespace(r, name));
      else if (r.maybe(0.3)) next.namespaces.splice(i, 1);
      else next.namespaces[i] = namespace(r, name);
      break;
    }
    case 8:
      // The same content in new objects (a relist), or the very same lists: nothing may change.
      return r.maybe() ? structuredClone(next) : s;
    default:
      // A burst: several changes before one compile.
      return mutate(r, mutate(r, next));
  }
  return next;
}

/** The compile with identity numbers replaced by what they stand for. */
function normalize(c: CompiledPolicies, ids: HeldIdentities) {
  const name = (id: number): string => {
    if (id === IDENTITY_ANY || id === IDENTITY_HOST || id === IDENTITY_WORLD) return `#${id}`;
    return ids.pods.keyOf(id) ?? `cidr:${ids.cidrs.keyOf(id) ?? `?${id}`}`;
  };
  const endpoints = [...c.endpoints].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, p]) => ({
    k, i: p.ingressEnforced, e: p.egressEnforced,
    entries: p.entries.map((x) => `${x.direction} ${name(x.identity)} ${x.proto} ${x.portStart}-${x.portEnd}`).sort(),
  }));
  return {
    endpoints,
    pods: [...c.podIdentities].map(([k, id]) => `${k}=${name(id)}`).sort(),
    cidrs: [...c.cidrIdentities.keys()].sort(),
    ipcache: c.ipcache.map((e) => `${e.cidr}=${name(e.identity)}`).sort(),
  };
}

function run(seed: number, steps: number, local: boolean) {
  const r = rng(seed);
  let state: ClusterState = { policies: [], pods: [], namespaces: NS.slice(0, 3).map((n) => namespace(r, n)) };
  for (let i = 0; i < 8; i++) state.pods.push(pod(r, r.pick(NS), `init${i}`));
  const ids = new HeldIdentities();
  const inc = new IncrementalCompiler();
  let endpoints: Set<string> | undefined;
  let previous = new Map<string, string>();
  for (let step = 0; step < steps; step++) {
    state = mutate(r, state);
    if (local && r.maybe(0.3)) endpoints = new Set(state.pods.filter(() => r.maybe(0.6)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
    inc.update(state, endpoints);
    const out = inc.compile(ids);
    ids.sweep();
    const fullIds = new HeldIdentities();
    const keys = endpoints;
    const full = compilePolicies(state, fullIds, keys ? { endpoint: (p) => keys.has(`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`) } : {});
    const got = normalize(out.compiled, ids);
    const want = normalize(full, fullIds);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      expect(got, `seed ${seed} step ${step}`).toEqual(want);
    }
    // Every endpoint whose compiled policy differs from the last compile is reported.
    const now = new Map([...out.compiled.endpoints].map(([k, p]) => [k, JSON.stringify(p)]));
    for (const k of new Set([...now.keys(), ...previous.keys()])) {
      if (now.get(k) !== previous.get(k) && !out.changedEndpoints.has(k)) expect.fail(`seed ${seed} step ${step}: ${k} changed but not reported`);
    }
    previous = now;
  }
}

describe('incremental compiler equals a full compile', () => {
  it('random change sequences, every pod an endpoint', () => {
    for (let seed = 1; seed <= 60; seed++) run(seed, 100, false);
  });

  it('random change sequences, changing local endpoint sets', () => {
    for (let seed = 1001; seed <= 1060; seed++) run(seed, 100, true);
  });

  it('the policy model cases in sequence, as the dataplane test applies them', () => {
    const inc = new IncrementalCompiler();
    const ids = new HeldIdentities();
    for (const c of POLICY_CASES) {
      for (const policies of c.then ? [c.policies, c.then] : [c.policies]) {
        const base = baseCluster();
        const state = { policies, pods: [...base.pods, ...(c.extraPods ?? [])], namespaces: base.namespaces };
        inc.update(state, new Set(state.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)));
        const got = normalize(inc.compile(ids).compiled, ids);
        ids.sweep();
        const fullIds = new HeldIdentities();
        expect(got, c.name).toEqual(normalize(compilePolicies(state, fullIds), fullIds));
      }
    }
  });

  it('reports only the endpoints a policy change affects', () => {
    const inc = new IncrementalCompiler();
    const ids = new HeldIdentities();
    const pods: Pod[] = Array.from({ length: 50 }, (_, i) => ({
      metadata: { namespace: 'x', name: `p${i}`, labels: { app: `a${i % 5}` } }, spec: { containers: [] }, status: { podIP: `10.1.0.${i + 1}` },
    }));
    const pol = (app: string, from: string): NetworkPolicy => ({
      metadata: { namespace: 'x', name: `np-${app}` },
      spec: { podSelector: { matchLabels: { app } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: from } } }] }] },
    });
    const ns: Namespace[] = [{ metadata: { name: 'x' } }];
    inc.update({ namespaces: ns, pods, policies: [pol('a0', 'a1'), pol('a2', 'a3')] });
    inc.compile(ids);
    inc.update({ namespaces: ns, pods, policies: [pol('a0', 'a4'), pol('a2', 'a3')] });
    const out = inc.compile(ids);
    expect([...out.changedEndpoints].sort()).toEqual(['x/p0', 'x/p10', 'x/p15', 'x/p20', 'x/p25', 'x/p30', 'x/p35', 'x/p40', 'x/p45', 'x/p5']);
    expect(out.ipcacheChanges.size).toBe(0);
  });
});
