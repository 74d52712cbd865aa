// Generates an `nft -f` ruleset equivalent to kube-proxy --proxy-mode=nftables
// for ClusterIP Services: table ip kube-proxy, dispatch through the
// service-ips verdict map, endpoint choice by `numgen random mod E vmap`,
// after shared/reference/kube-proxy-iptables-shape.md §5.
import { hashName } from './hash.js';
import { masqueradeMark } from './kubeproxy-iptables.js';
import type { BenchEndpoint, BenchService } from './types.js';

export const NFT_TABLE = 'kube-proxy';

// kube-proxy writes `dstnat - 10`, `dstnat` and `srcnat`; nft 1.0.6 (Debian 12)
// accepts named priorities only on some hooks (not dstnat on input/output),
// so the same values are written as numbers.
const DSTNAT = -100;
const SRCNAT = 100;
const FILTER_PRIO = DSTNAT - 10;

export interface NftOptions {
  clusterCidr?: string;
  masqueradeBit?: number;
}

/** `ns/svc/proto/portName`, the name kube-proxy's nftables chains hash. */
export function nftServicePortName(svc: BenchService): string {
  return `${svc.namespace}/${svc.name}/${svc.protocol}/${svc.portName}`;
}

/** `service-<base32(sha256(name))[:8]>-<name>` */
export function nftServiceChain(svc: BenchService): string {
  const name = nftServicePortName(svc);
  return `service-${hashName(name, 8)}-${name}`;
}

/** `endpoint-<hash8>-<ns/svc/proto/port>__<ip>/<port>` */
export function nftEndpointChain(svc: BenchService, ep: BenchEndpoint): string {
  const name = `${nftServicePortName(svc)}__${ep.ip}/${ep.port}`;
  return `endpoint-${hashName(name, 8)}-${name}`;
}

/** The whole table as one `nft -f` file; it deletes an earlier copy of the table first. */
export function kubeProxyNftRuleset(services: readonly BenchService[], opts: NftOptions = {}): string {
  const cidr = opts.clusterCidr ?? '10.0.0.0/8';
  const mark = masqueradeMark(opts.masqueradeBit ?? 14);
  const t = NFT_TABLE;
  const out: string[] = [
    // "add" then "delete" makes the file idempotent: the table is replaced whole.
    `add table ip ${t}`,
    `delete table ip ${t}`,
    `add table ip ${t} { comment "rules for kube-proxy" ; }`,
    `add chain ip ${t} filter-prerouting { type filter hook prerouting priority ${FILTER_PRIO} ; policy accept ; }`,
    `add chain ip ${t} filter-input { type filter hook input priority ${FILTER_PRIO} ; policy accept ; }`,
    `add chain ip ${t} filter-forward { type filter hook forward priority ${FILTER_PRIO} ; policy accept ; }`,
    `add chain ip ${t} filter-output { type filter hook output priority ${FILTER_PRIO} ; policy accept ; }`,
    `add chain ip ${t} nat-prerouting { type nat hook prerouting priority ${DSTNAT} ; policy accept ; }`,
    `add chain ip ${t} nat-output { type nat hook output priority ${DSTNAT} ; policy accept ; }`,
    `add chain ip ${t} nat-postrouting { type nat hook postrouting priority ${SRCNAT} ; policy accept ; }`,
    `add chain ip ${t} endpoints-check`,
    `add chain ip ${t} firewall-check`,
    `add chain ip ${t} forward`,
    `add chain ip ${t} services`,
    `add chain ip ${t} mark-for-masquerade`,
    `add chain ip ${t} masquerading`,
    `add chain ip ${t} reject-chain`,
    `add map ip ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add map ip ${t} service-nodeports { type inet_proto . inet_service : verdict ; }`,
    `add map ip ${t} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add map ip ${t} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; }`,
    `add map ip ${t} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    ...baseChainRules(),
    `add rule ip ${t} endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add rule ip ${t} endpoints-check fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ip ${t} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ip ${t} forward ct state invalid drop`,
    `add rule ip ${t} mark-for-masquerade mark set mark or ${mark}`,
    `add rule ip ${t} masquerading mark and ${mark} == 0 return`,
    `add rule ip ${t} masquerading mark set mark xor ${mark}`,
    `add rule ip ${t} masquerading masquerade fully-random`,
    `add rule ip ${t} reject-chain reject`,
    `add rule ip ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ip ${t} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports`,
  ];
  const serviceElems: string[] = [];
  const noEndpointElems: string[] = [];
  for (const svc of services) {
    const key = `${svc.clusterIP} . ${svc.protocol} . ${svc.port}`;
    if (svc.endpoints.length === 0) {
      noEndpointElems.push(`${key} : goto reject-chain`);
      continue;
    }
    const chain = nftServiceChain(svc);
    const eps = svc.endpoints.map((ep) => nftEndpointChain(svc, ep));
    out.push(`add chain ip ${t} ${chain}`);
    for (const ep of eps) out.push(`add chain ip ${t} ${ep}`);
    out.push(
      `add rule ip ${t} ${chain} ip daddr ${svc.clusterIP} ${svc.protocol} dport ${svc.port} ip saddr != ${cidr} jump mark-for-masquerade`,
    );
    const vmap = eps.map((ep, i) => `${i} : goto ${ep}`).join(' , ');
    out.push(`add rule ip ${t} ${chain} numgen random mod ${eps.length} vmap { ${vmap} }`);
    svc.endpoints.forEach((ep, i) => {
      out.push(
        `add rule ip ${t} ${eps[i]} ip saddr ${ep.ip} jump mark-for-masquerade`,
        `add rule ip ${t} ${eps[i]} meta l4proto ${svc.protocol} dnat to ${ep.ip}:${ep.port}`,
      );
    });
    serviceElems.push(`${key} : goto ${chain}`);
  }
  // Elements in batches: one huge line is slow for nft's parser.
  const BATCH = 1000;
  for (let i = 0; i < serviceElems.length; i += BATCH) {
    out.push(`add element ip ${t} service-ips { ${serviceElems.slice(i, i + BATCH).join(' , ')} }`);
  }
  for (let i = 0; i < noEndpointElems.length; i += BATCH) {
    out.push(`add element ip ${t} no-endpoint-services { ${noEndpointElems.slice(i, i + BATCH).join(' , ')} }`);
  }
  return out.join('\n') + '\n';
}

// The rules of the hooked base chains: all that links the table to the data path.
const BASE_CHAIN_RULES: ReadonlyArray<[string, string]> = [
  ['filter-prerouting', 'ct state new jump firewall-check'],
  ['filter-input', 'ct state new jump endpoints-check'],
  ['filter-input', 'ct state new jump firewall-check'],
  ['filter-forward', 'ct state new jump endpoints-check'],
  ['filter-forward', 'jump forward'],
  ['filter-output', 'ct state new jump endpoints-check'],
  ['filter-output', 'ct state new jump firewall-check'],
  ['nat-prerouting', 'jump services'],
  ['nat-output', 'jump services'],
  ['nat-postrouting', 'jump masquerading'],
];

function baseChainRules(): string[] {
  return BASE_CHAIN_RULES.map(([chain, rule]) => `add rule ip ${NFT_TABLE} ${chain} ${rule}`);
}

/** `nft -f` input that empties the base chains: the table stays loaded but no packet enters it. */
export function kubeProxyNftSuspend(): string {
  const chains = [...new Set(BASE_CHAIN_RULES.map(([c]) => c))];
  return chains.map((c) => `flush chain ip ${NFT_TABLE} ${c}`).join('\n') + '\n';
}

/** `nft -f` input that undoes kubeProxyNftSuspend (flushing first keeps it idempotent). */
export function kubeProxyNftResume(): string {
  return kubeProxyNftSuspend() + baseChainRules().join('\n') + '\n';
}

/** An `nft -f` file that removes the table (absent is fine). */
export function kubeProxyNftDelete(): string {
  return `add table ip ${NFT_TABLE}\ndelete table ip ${NFT_TABLE}\n`;
}
