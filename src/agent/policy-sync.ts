// Compiles the cluster's NetworkPolicies for this node's endpoints and
// converges the dataplane's endpoint, policy and ipcache maps to the result.
// Compilation is incremental (src/policy/incremental.ts): a change costs
// what it affects, and only endpoints whose policy or registration changed
// and ipcache prefixes whose identity changed are written.
import type { AllowRule, EndpointTable } from '../dataplane/endpoint-table.js';
import type { EndpointPolicy, PolicyEntry } from '../policy/compiler.js';
import { IncrementalCompiler } from '../policy/incremental.js';
import { HeldIdentities, IDENTITY_HOST } from '../policy/identity.js';
import { expandPortRange } from '../policy/ports.js';
import { ClusterIdentities } from './identities.js';
import type { ClusterState } from '../policy/types.js';

export interface LocalEndpoint {
  /** "namespace/name" of the pod. */
  pod: string;
  ip: string;
  /** Host-side veth ifindex. */
  ifindex: number;
  endpointId: number;
}

export interface PolicySyncStats {
  endpoints: number;
  rules: number;
  ipcache: { upserts: number; deletes: number };
  compileMs: number;
  applyMs: number;
}

const OPEN: EndpointPolicy = { ingressEnforced: false, egressEnforced: false, entries: [] };

/** Turns one compiled entry into the LPM rules of the policy map. */
export function entryRules(e: PolicyEntry): AllowRule[] {
  const base = { direction: e.direction, identity: e.identity };
  if (e.proto === 0) return [{ ...base, proto: 0, port: 0, portPrefixBits: 0 }];
  if (e.portStart === 0 && e.portEnd === 0) return [{ ...base, proto: e.proto, port: 0, portPrefixBits: 0 }];
  return expandPortRange(e.portStart, e.portEnd).map((b) => ({ ...base, proto: e.proto, port: b.port, portPrefixBits: b.prefixLen }));
}

/** What was last written for an endpoint IP, to skip unchanged endpoints. */
interface Written {
  pod: string;
  ifindex: number;
  endpointId: number;
  identity: number;
  policy: EndpointPolicy;
  rules: number;
}

export class PolicySync {
  private readonly registered = new Map<string, Written>();
  private compiler = new IncrementalCompiler();
  private ipcacheSynced = false;
  /** After a failed compile the new compiler's objects match nothing written: rewrite every endpoint. */
  private rewriteAll = false;

  constructor(
    private readonly table: EndpointTable,
    /** Node-local numbering (tests) or cluster-wide identities agreed through the API. */
    private readonly identities: HeldIdentities | ClusterIdentities = new HeldIdentities(),
    /** This node's own addresses: identity HOST in the ipcache, so its
     * traffic to local pods (kubelet probes) passes ingress policy, as in Cilium. */
    private readonly hostIPs: readonly string[] = [],
  ) {}

  /** Compiles state for the given local endpoints and writes the maps;
   * endpoints registered earlier and absent now are removed. The arrays in
   * `state` are read as immutable: passing the previous call's array again
   * means "none of these changed". */
  async sync(state: ClusterState, local: readonly LocalEndpoint[]): Promise<PolicySyncStats> {
    const t0 = performance.now();
    const keys = new Set(local.map((l) => l.pod));
    let out: ReturnType<IncrementalCompiler['compile']>;
    try {
      const { identitiesChanged } = this.compiler.update(state, keys);
      // Cluster identities are allocated through the API before the
      // (synchronous) compile; only needed when the set of label sets changed.
      if (identitiesChanged && this.identities instanceof ClusterIdentities) {
        await this.identities.prepare({ policies: [], pods: this.compiler.identityPods(), namespaces: state.namespaces });
      }
      out = this.compiler.compile(this.identities);
    } catch (err) {
      // A half-applied update cannot be trusted: the next sync starts from scratch.
      this.compiler = new IncrementalCompiler();
      this.rewriteAll = true;
      this.ipcacheSynced = false;
      throw err;
    }
    const { compiled, ipcacheChanges } = out;
    this.identities.sweep();
    const t1 = performance.now();
    let rules = 0;
    const present = new Set<string>();
    for (const ep of local) {
      const identity = compiled.podIdentities.get(ep.pod);
      if (identity === undefined) continue; // not in the state (yet): leave it unmanaged
      present.add(ep.ip);
      const pol = compiled.endpoints.get(ep.pod) ?? OPEN;
      const prev = this.registered.get(ep.ip);
      if (prev && !this.rewriteAll && prev.pod === ep.pod && prev.policy === pol && prev.ifindex === ep.ifindex && prev.endpointId === ep.endpointId && prev.identity === identity) {
        rules += prev.rules;
        continue;
      }
      const r = pol.entries.flatMap(entryRules);
      rules += r.length;
      await this.table.setEndpoint({
        ip: ep.ip, ifindex: ep.ifindex, endpointId: ep.endpointId, identity,
        ingressEnforced: pol.ingressEnforced, egressEnforced: pol.egressEnforced, rules: r,
      });
      this.registered.set(ep.ip, { pod: ep.pod, ifindex: ep.ifindex, endpointId: ep.endpointId, identity, policy: pol, rules: r.length });
    }
    this.rewriteAll = false;
    for (const ip of [...this.registered.keys()]) {
      if (!present.has(ip)) {
        await this.table.removeEndpoint(ip);
        this.registered.delete(ip);
      }
    }
    let ipcache: { upserts: number; deletes: number };
    const hostCidrs = new Set(this.hostIPs.map((ip) => `${ip}/32`));
    if (!this.ipcacheSynced) {
      // First sync: converge the map to exactly what is wanted (it may hold an earlier run's state).
      const wanted = new Map(compiled.ipcache.map((e) => [e.cidr, e.identity]));
      for (const cidr of hostCidrs) wanted.set(cidr, IDENTITY_HOST);
      ipcache = await this.table.syncIpcache(wanted);
      this.ipcacheSynced = true;
    } else {
      // Then only what the compile changed; the node's own addresses stay HOST.
      const changes = new Map([...ipcacheChanges].filter(([cidr]) => !hostCidrs.has(cidr)));
      try {
        ipcache = await this.table.patchIpcache(changes);
      } catch (err) {
        this.ipcacheSynced = false; // the next sync converges the whole map
        throw err;
      }
    }
    return { endpoints: present.size, rules, ipcache, compileMs: t1 - t0, applyMs: performance.now() - t1 };
  }
}
