// A pod's resolv.conf (CRI DNSConfig) from its dnsPolicy and dnsConfig, as
// the kubelet computes it: ClusterFirst (the default) uses the cluster DNS
// with the namespace/svc/cluster search path and ndots:5; host-network pods
// fall back to the node's resolver unless ClusterFirstWithHostNet; Default
// is the node's resolver; None is only what spec.dnsConfig says. dnsConfig
// nameservers and searches are appended (deduplicated, within the limits
// glibc honours) and options merged by name.

export interface ClusterDnsSettings {
  /** Cluster DNS Service IPs (empty: ClusterFirst behaves like Default). */
  servers: string[];
  domain: string;
}

interface PodDns {
  metadata: { namespace?: string };
  spec: {
    hostNetwork?: boolean;
    dnsPolicy?: string;
    dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  };
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

const MAX_SERVERS = 3;
const MAX_SEARCHES = 32;

/** The DNSConfig for the sandbox; undefined = the runtime's default (the node's resolv.conf). */
export function podDnsConfig(pod: PodDns, cluster: ClusterDnsSettings | undefined): DnsConfig | undefined {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const ns = pod.metadata.namespace ?? 'default';
  const useCluster = cluster !== undefined && cluster.servers.length > 0
    && (policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.spec.hostNetwork));
  let base: DnsConfig | undefined;
  if (useCluster) {
    const d = cluster!.domain;
    base = { servers: [...cluster!.servers], searches: [`${ns}.svc.${d}`, `svc.${d}`, d], options: ['ndots:5'] };
  } else if (policy === 'None') {
    base = { servers: [], searches: [], options: [] };
  }
  const extra = pod.spec.dnsConfig;
  if (!extra) return base;
  // With Default (or ClusterFirst without a cluster DNS) the extras apply on
  // top of an empty config: the runtime cannot merge with the node's file.
  const out = base ?? { servers: [], searches: [], options: [] };
  out.servers = [...new Set([...out.servers, ...(extra.nameservers ?? [])])].slice(0, MAX_SERVERS);
  out.searches = [...new Set([...out.searches, ...(extra.searches ?? [])])].slice(0, MAX_SEARCHES);
  const opts = new Map(out.options.map((o) => [o.split(':')[0]!, o]));
  for (const o of extra.options ?? []) opts.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  out.options = [...opts.values()];
  return out;
}
