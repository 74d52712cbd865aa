// Compiles the cluster's NetworkPolicies for this node's endpoints and
// converges the dataplane's endpoint, policy and ipcache maps to the result.
import type { AllowRule, EndpointTable } from '../dataplane/endpoint-table.js';
import { compilePolicies, type EndpointPolicy, type PolicyEntry } from '../policy/compiler.js';
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

export class PolicySync {
  private readonly registered = new Set<string>();

  constructor(
    private readonly table: EndpointTable,
    /** Node-local numbering (tests) or cluster-wide identities agreed through the API. */
    private readonly identities: HeldIdentities | ClusterIdentities = new HeldIdentities(),
    /** This node's own addresses: identity HOST in the ipcache, so its
     * traffic to local pods (kubelet probes) passes ingress policy, as in Cilium. */
    private readonly hostIPs: readonly string[] = [],
  ) {}

  /** Compiles state for the given local endpoints and writes the maps;
   * endpoints registered earlier and absent now are removed. */
  async sync(state: ClusterState, local: readonly LocalEndpoint[]): Promise<PolicySyncStats> {
    const t0 = performance.now();
    if (this.identities instanceof ClusterIdentities) await this.identities.prepare(state);
    const keys = new Set(local.map((l) => l.pod));
    const compiled = compilePolicies(state, this.identities, {
      endpoint: (pod) => keys.has(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`),
    });
    this.identities.sweep();
    const t1 = performance.now();
    let rules = 0;
    for (const ep of local) {
      const identity = compiled.podIdentities.get(ep.pod);
      if (identity === undefined) continue; // not in the state (yet): leave it unmanaged
      const pol = compiled.endpoints.get(ep.pod) ?? OPEN;
      const r = pol.entries.flatMap(entryRules);
      rules += r.length;
      await this.table.setEndpoint({
        ip: ep.ip, ifindex: ep.ifindex, endpointId: ep.endpointId, identity,
        ingressEnforced: pol.ingressEnforced, egressEnforced: pol.egressEnforced, rules: r,
      });
      this.registered.add(ep.ip);
    }
    const present = new Set(local.filter((l) => compiled.podIdentities.has(l.pod)).map((l) => l.ip));
    for (const ip of [...this.registered]) {
      if (!present.has(ip)) {
        await this.table.removeEndpoint(ip);
        this.registered.delete(ip);
      }
    }
    const wanted = new Map(compiled.ipcache.map((e) => [e.cidr, e.identity]));
    for (const ip of this.hostIPs) wanted.set(`${ip}/32`, IDENTITY_HOST);
    const ipcache = await this.table.syncIpcache(wanted);
    return { endpoints: present.size, rules, ipcache, compileMs: t1 - t0, applyMs: performance.now() - t1 };
  }
}
