// The reference model of NetworkPolicy semantics: answers "may this packet
// pass?" straight from the objects, with no identities, no ipcache and no
// compiler. Deliberately naive (it rescans every policy per question) so it
// can be read against the Kubernetes documentation line by line; the tests
// hold the compiler, and later the dataplane, to its answers.
import { matchesSelector } from './selectors.js';
import type { Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Pod, Protocol } from './types.js';

/** One end of a connection: a pod, or an address that is not a pod. */
export type Endpoint = { pod: Pod } | { ip: string };

export interface ModelOptions {
  /**
   * 'allow' (default): a pod talking to itself is always allowed, since such
   * packets never leave the pod's network namespace (what the upstream e2e
   * suite calls AllowLoopback). 'policy': evaluate it like any other pair.
   */
  loopback?: 'allow' | 'policy';
}

/** True when Kubernetes semantics allow `from` to reach `to` on proto/port. */
export function allowed(
  policies: NetworkPolicy[],
  pods: Pod[],
  namespaces: Namespace[],
  from: Endpoint,
  to: Endpoint,
  proto: Protocol,
  port: number,
  opts: ModelOptions = {},
): boolean {
  void pods; // the answer depends only on the two endpoints; kept for a uniform signature
  if ('pod' in from && 'pod' in to && samePod(from.pod, to.pod) && (opts.loopback ?? 'allow') === 'allow') return true;
  const nsLabels = (name: string) => namespaces.find((n) => n.metadata.name === name)?.metadata.labels ?? {};
  const ctx = { nsLabels };
  // Egress is checked at the source pod, ingress at the destination pod;
  // both must allow. An address that is not a pod has no policy of its own.
  if ('pod' in from && !from.pod.spec.hostNetwork && !directionAllows(policies, 'Egress', from.pod, to, to, proto, port, ctx)) return false;
  if ('pod' in to && !to.pod.spec.hostNetwork && !directionAllows(policies, 'Ingress', to.pod, from, to, proto, port, ctx)) return false;
  return true;
}

interface Ctx {
  nsLabels(name: string): Record<string, string>;
}

function directionAllows(
  policies: NetworkPolicy[],
  type: 'Ingress' | 'Egress',
  subject: Pod,
  peer: Endpoint,
  dst: Endpoint,
  proto: Protocol,
  port: number,
  ctx: Ctx,
): boolean {
  const ns = subject.metadata.namespace ?? 'default';
  // Policies apply to pods in their own namespace selected by spec.podSelector.
  const applicable = policies.filter(
    (p) => (p.metadata.namespace ?? 'default') === ns && matchesSelector(p.spec.podSelector ?? {}, subject.metadata.labels) && typesOf(p).includes(type),
  );
  // A pod no policy of this type selects is not isolated in this direction.
  if (applicable.length === 0) return true;
  // Isolated: allowed only if some rule of some applicable policy allows it.
  for (const p of applicable) {
    const rules = type === 'Ingress' ? (p.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports })) : (p.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
    for (const r of rules) {
      const peerOk = !r.peers || r.peers.length === 0 || r.peers.some((x) => peerMatches(x, ns, peer, ctx));
      const portOk = !r.ports || r.ports.length === 0 || r.ports.some((x) => portMatches(x, dst, proto, port));
      if (peerOk && portOk) return true;
    }
  }
  return false;
}

function typesOf(p: NetworkPolicy): string[] {
  // Unset policyTypes: Ingress always, Egress only if there are egress rules.
  if (p.spec.policyTypes && p.spec.policyTypes.length > 0) return p.spec.policyTypes;
  return p.spec.egress && p.spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function peerMatches(peer: NetworkPolicyPeer, policyNs: string, ep: Endpoint, ctx: Ctx): boolean {
  if (peer.ipBlock) {
    const ip = endpointIp(ep);
    if (ip === undefined) return false;
    return inCidr(ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(ip, c));
  }
  if (peer.podSelector == null && peer.namespaceSelector == null) return false;
  if (!('pod' in ep) || ep.pod.spec.hostNetwork) return false; // selectors select pod-network pods only
  const podNs = ep.pod.metadata.namespace ?? 'default';
  const nsOk = peer.namespaceSelector == null ? podNs === policyNs : matchesSelector(peer.namespaceSelector, ctx.nsLabels(podNs));
  const podOk = peer.podSelector == null || matchesSelector(peer.podSelector, ep.pod.metadata.labels);
  return nsOk && podOk;
}

function portMatches(p: NetworkPolicyPort, dst: Endpoint, proto: Protocol, port: number): boolean {
  if ((p.protocol ?? 'TCP') !== proto) return false;
  if (p.port === undefined || p.port === null) return true;
  const numeric = typeof p.port === 'number' ? p.port : /^\d+$/.test(p.port) ? Number(p.port) : undefined;
  if (numeric !== undefined) {
    const end = p.endPort !== undefined && p.endPort >= numeric ? p.endPort : numeric;
    return port >= numeric && port <= end;
  }
  // A named port means a container port of the destination pod.
  if (!('pod' in dst)) return false;
  return dst.pod.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.port && (cp.protocol ?? 'TCP') === proto && cp.containerPort === port));
}

function samePod(a: Pod, b: Pod): boolean {
  return (a.metadata.namespace ?? 'default') === (b.metadata.namespace ?? 'default') && a.metadata.name === b.metadata.name;
}

/** The address an endpoint's packets carry (a pod's first IPv4 address). */
export function endpointIp(ep: Endpoint): string | undefined {
  if ('ip' in ep) return ep.ip;
  const ips = ep.pod.status?.podIPs?.map((x) => x.ip) ?? (ep.pod.status?.podIP ? [ep.pod.status.podIP] : []);
  return ips.find((ip) => !ip.includes(':'));
}

// Bit-string comparison, independent of cidr.ts on purpose.
function inCidr(ip: string, cidr: string): boolean {
  const [net, lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const bits = (s: string) =>
    s
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('');
  if (net.includes(':') || ip.includes(':')) return false;
  return bits(ip).slice(0, len) === bits(net).slice(0, len);
}
