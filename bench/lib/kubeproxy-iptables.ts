// Generates the iptables-restore payload kube-proxy (--proxy-mode=iptables,
// v1.29/1.30 shape) writes for ClusterIP Services, plus the jump rules from
// the built-in chains, following shared/reference/kube-proxy-iptables-shape.md.
import { hashName, probability } from './hash.js';
import type { BenchEndpoint, BenchService } from './types.js';

export interface IptablesOptions {
  /** kube-proxy --cluster-cidr (local traffic detector); default 10.0.0.0/8. */
  clusterCidr?: string;
  /** --iptables-masquerade-bit; default 14. */
  masqueradeBit?: number;
  /** Force largeClusterMode; by default on when total endpoints exceed 1000. */
  largeClusterMode?: boolean;
}

/** kube-proxy switches off per-endpoint comments above this many endpoints. */
export const LARGE_CLUSTER_ENDPOINT_THRESHOLD = 1000;

/** `<namespace>/<service>:<portName>`, without `:` for an unnamed port. */
export function servicePortName(svc: BenchService): string {
  return svc.portName === '' ? `${svc.namespace}/${svc.name}` : `${svc.namespace}/${svc.name}:${svc.portName}`;
}

/** KUBE-SVC-<base32(sha256(svcPortName + protocol))[:16]> */
export function svcChainName(svc: BenchService): string {
  return `KUBE-SVC-${hashName(servicePortName(svc) + svc.protocol, 16)}`;
}

/** KUBE-SEP-<base32(sha256(svcPortName + protocol + "ip:port"))[:16]> */
export function sepChainName(svc: BenchService, ep: BenchEndpoint): string {
  return `KUBE-SEP-${hashName(`${servicePortName(svc)}${svc.protocol}${ep.ip}:${ep.port}`, 16)}`;
}

/** Go's %#08x of the masquerade mark: 0x00004000 for bit 14. */
export function masqueradeMark(bit: number): string {
  return `0x${(1 << bit).toString(16).padStart(8, '0')}`;
}

/** True when kube-proxy would run in largeClusterMode for these services. */
export function isLargeCluster(services: readonly BenchService[]): boolean {
  let total = 0;
  for (const s of services) total += s.endpoints.length;
  return total > LARGE_CLUSTER_ENDPOINT_THRESHOLD;
}

/** The full `iptables-restore --noflush` payload (filter then nat) for these services. */
export function kubeProxyIptablesRestore(services: readonly BenchService[], opts: IptablesOptions = {}): string {
  const cidr = opts.clusterCidr ?? '10.0.0.0/8';
  const mark = masqueradeMark(opts.masqueradeBit ?? 14);
  const large = opts.largeClusterMode ?? isLargeCluster(services);
  const filter = [
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  ];
  for (const svc of services) {
    if (svc.endpoints.length > 0) continue;
    const spn = servicePortName(svc);
    filter.push(
      `-A KUBE-SERVICES -m comment --comment "${spn} has no endpoints" -m ${svc.protocol} -p ${svc.protocol} -d ${svc.clusterIP} --dport ${svc.port} -j REJECT`,
    );
  }
  filter.push(
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    'COMMIT',
  );

  const chains = [':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const rules = [
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
  ];
  for (const svc of services) {
    const n = svc.endpoints.length;
    if (n === 0) continue;
    const spn = servicePortName(svc);
    const p = svc.protocol;
    const svcChain = svcChainName(svc);
    const seps = svc.endpoints.map((ep) => sepChainName(svc, ep));
    chains.push(`:${svcChain} - [0:0]`, ...seps.map((c) => `:${c} - [0:0]`));
    const match = `-m ${p} -p ${p} -d ${svc.clusterIP} --dport ${svc.port}`;
    rules.push(
      `-A KUBE-SERVICES -m comment --comment "${spn} cluster IP" ${match} -j ${svcChain}`,
      `-A ${svcChain} -m comment --comment "${spn} cluster IP" ${match} ! -s ${cidr} -j KUBE-MARK-MASQ`,
    );
    svc.endpoints.forEach((ep, i) => {
      const comment = large ? '' : ` -m comment --comment "${spn} -> ${ep.ip}:${ep.port}"`;
      const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
      rules.push(`-A ${svcChain}${comment}${stat} -j ${seps[i]}`);
    });
    svc.endpoints.forEach((ep, i) => {
      const comment = large ? '' : ` -m comment --comment ${spn}`;
      rules.push(
        `-A ${seps[i]}${comment} -s ${ep.ip} -j KUBE-MARK-MASQ`,
        `-A ${seps[i]}${comment} -m ${p} -p ${p} -j DNAT --to-destination ${ep.ip}:${ep.port}`,
      );
    });
  }
  rules.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  return [...filter, '*nat', ...chains, ...rules, 'COMMIT', ''].join('\n');
}

export interface JumpRule {
  table: 'nat' | 'filter';
  chain: string;
  rule: string;
}

/** The rules kube-proxy inserts at position 1 of the built-in chains, in the order it inserts them. */
export function kubeProxyJumpRules(): JumpRule[] {
  const NEW = '-m conntrack --ctstate NEW';
  const portals = '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES';
  const external = `${NEW} -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`;
  const lbfw = `${NEW} -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`;
  return [
    { table: 'filter', chain: 'INPUT', rule: external },
    { table: 'filter', chain: 'INPUT', rule: '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS' },
    { table: 'filter', chain: 'FORWARD', rule: external },
    { table: 'filter', chain: 'FORWARD', rule: `${NEW} ${portals}` },
    { table: 'filter', chain: 'OUTPUT', rule: `${NEW} ${portals}` },
    { table: 'filter', chain: 'FORWARD', rule: '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD' },
    { table: 'filter', chain: 'INPUT', rule: lbfw },
    { table: 'filter', chain: 'OUTPUT', rule: lbfw },
    { table: 'filter', chain: 'FORWARD', rule: lbfw },
    { table: 'filter', chain: 'INPUT', rule: '-j KUBE-FIREWALL' },
    { table: 'filter', chain: 'OUTPUT', rule: '-j KUBE-FIREWALL' },
    { table: 'nat', chain: 'OUTPUT', rule: portals },
    { table: 'nat', chain: 'PREROUTING', rule: portals },
    { table: 'nat', chain: 'POSTROUTING', rule: '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING' },
  ];
}

const BUILTIN_CHAINS = { filter: ['INPUT', 'FORWARD', 'OUTPUT'], nat: ['PREROUTING', 'OUTPUT', 'POSTROUTING'] } as const;

/**
 * The jump rules as an `iptables-restore --noflush` payload of `-I <chain> 1`
 * lines, so they can be installed without running `iptables` itself; load it
 * after the main payload (the target chains must exist). With
 * `flushBuiltins`, the built-in chains are emptied first, so loading it
 * twice does not duplicate the jumps.
 */
export function kubeProxyJumpRestore(opts: { flushBuiltins?: boolean } = {}): string {
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    out.push(`*${table}`);
    if (opts.flushBuiltins === true) for (const c of BUILTIN_CHAINS[table]) out.push(`-F ${c}`);
    for (const j of kubeProxyJumpRules()) if (j.table === table) out.push(`-I ${j.chain} 1 ${j.rule}`);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** An `iptables-restore --noflush` payload that empties the built-in chains (kube-proxy's chains stay). */
export function flushBuiltinChainsRestore(): string {
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    out.push(`*${table}`, ...BUILTIN_CHAINS[table].map((c) => `-F ${c}`), 'COMMIT');
  }
  return out.join('\n') + '\n';
}
