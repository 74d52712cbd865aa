import { describe, expect, it } from 'vitest';
import { base32, hashName, probability } from '../../bench/lib/hash.js';
import {
  isLargeCluster,
  kubeProxyIptablesRestore,
  kubeProxyJumpRestore,
  sepChainName,
  servicePortName,
  svcChainName,
} from '../../bench/lib/kubeproxy-iptables.js';
import { kubeProxyNftResume, kubeProxyNftRuleset, kubeProxyNftSuspend, nftEndpointChain, nftServiceChain } from '../../bench/lib/kubeproxy-nft.js';
import { backendIpFor, clusterIpFor, makeServices } from '../../bench/lib/services.js';
import type { BenchService } from '../../bench/lib/types.js';

const svc1: BenchService = {
  namespace: 'ns1',
  name: 'svc1',
  portName: 'p80',
  protocol: 'tcp',
  clusterIP: '172.30.0.41',
  port: 80,
  endpoints: [
    { ip: '10.180.0.1', port: 80 },
    { ip: '10.180.1.1', port: 80 },
    { ip: '10.180.2.1', port: 80 },
  ],
};

// shared/reference/kube-proxy-iptables-shape.md §3, verbatim.
const REFERENCE_DUMP = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
:KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
:KUBE-SEP-TOIS5JUHRKSSXDL7 - [0:0]
:KUBE-SEP-ZX7GRIZKSNUQ3LAJ - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-SXIVWICOYRO3J4NJ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.1.1:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-TOIS5JUHRKSSXDL7
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.2.1:80" -j KUBE-SEP-ZX7GRIZKSNUQ3LAJ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-TOIS5JUHRKSSXDL7 -m comment --comment ns1/svc1:p80 -s 10.180.1.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-TOIS5JUHRKSSXDL7 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.1.1:80
-A KUBE-SEP-ZX7GRIZKSNUQ3LAJ -m comment --comment ns1/svc1:p80 -s 10.180.2.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-ZX7GRIZKSNUQ3LAJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.2.1:80
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
`;

describe('kube-proxy hashes', () => {
  it('encodes base32 with the RFC 4648 alphabet and padding', () => {
    expect(base32(Buffer.from('foobar'))).toBe('MZXW6YTBOI======');
    expect(base32(Buffer.from(''))).toBe('');
  });

  it('names service and endpoint chains as kube-proxy does', () => {
    expect(servicePortName(svc1)).toBe('ns1/svc1:p80');
    expect(servicePortName({ ...svc1, portName: '' })).toBe('ns1/svc1');
    expect(svcChainName(svc1)).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(sepChainName(svc1, svc1.endpoints[0]!)).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(sepChainName(svc1, svc1.endpoints[2]!)).toBe('KUBE-SEP-ZX7GRIZKSNUQ3LAJ');
    expect(hashName('ns1/svc1/tcp/p80', 8)).toBe('ULMVA6XW');
    expect(nftServiceChain(svc1)).toBe('service-ULMVA6XW-ns1/svc1/tcp/p80');
    expect(nftEndpointChain(svc1, svc1.endpoints[0]!)).toBe('endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  });

  it('formats probabilities like Go %0.10f, half-to-even on exact ties', () => {
    expect(probability(3)).toBe('0.3333333333');
    expect(probability(2)).toBe('0.5000000000');
    expect(probability(1)).toBe('1.0000000000');
    expect(probability(10)).toBe('0.1000000000');
    expect(probability(7)).toBe('0.1428571429');
    expect(probability(2048)).toBe('0.0004882812');
    expect(probability(16384)).toBe('0.0000610352');
  });
});

describe('kube-proxy iptables payload', () => {
  it('reproduces the reference dump for one service with three endpoints', () => {
    expect(kubeProxyIptablesRestore([svc1])).toBe(REFERENCE_DUMP);
  });

  it('has 4 + N(1+E) nat chains and 5 + N(2+3E) nat rules', () => {
    const services = makeServices(7, Array.from({ length: 10 }, (_, j) => backendIpFor(j)));
    const nat = kubeProxyIptablesRestore(services).split('*nat\n')[1]!;
    const lines = nat.split('\n');
    expect(lines.filter((l) => l.startsWith(':')).length).toBe(4 + 7 * 11);
    expect(lines.filter((l) => l.startsWith('-A ')).length).toBe(5 + 7 * 32);
  });

  it('drops per-endpoint comments in largeClusterMode (more than 1000 endpoints)', () => {
    const backends = Array.from({ length: 10 }, (_, j) => backendIpFor(j));
    const at1000 = makeServices(100, backends);
    const over = makeServices(101, backends);
    expect(isLargeCluster(at1000)).toBe(false);
    expect(isLargeCluster(over)).toBe(true);
    const big = kubeProxyIptablesRestore(over);
    const sep = sepChainName(over[0]!, over[0]!.endpoints[0]!);
    expect(big).toContain(`-A ${sep} -s 10.180.0.1 -j KUBE-MARK-MASQ\n`);
    expect(big).toContain(`-A ${svcChainName(over[0]!)} -m statistic --mode random --probability 0.1000000000 -j ${sep}\n`);
    // The KUBE-SERVICES entry keeps its comment.
    expect(big).toContain('-A KUBE-SERVICES -m comment --comment "bench/svc-0:p80 cluster IP" -m tcp -p tcp -d 172.30.0.1 --dport 80');
    expect(kubeProxyIptablesRestore(at1000)).toContain(`-A ${sep} -m comment --comment bench/svc-0:p80 -s 10.180.0.1`);
  });

  it('emits the built-in chain jumps as -I lines, optionally flushing the built-ins first', () => {
    const jumps = kubeProxyJumpRestore();
    expect(jumps).toContain('-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n');
    expect(jumps).toContain('-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\n');
    expect(jumps).toContain(
      '-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n',
    );
    expect(jumps).not.toContain('-F ');
    expect(kubeProxyJumpRestore({ flushBuiltins: true })).toMatch(/^\*filter\n-F INPUT\n-F FORWARD\n-F OUTPUT\n-I /);
  });
});

describe('kube-proxy nftables ruleset', () => {
  it('dispatches through the service-ips map and picks endpoints with numgen', () => {
    const nft = kubeProxyNftRuleset([svc1]);
    const chain = 'service-ULMVA6XW-ns1/svc1/tcp/p80';
    const ep0 = 'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80';
    expect(nft).toContain('add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\n');
    expect(nft).toContain(`add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto ${chain} }\n`);
    expect(nft).toContain(`add rule ip kube-proxy ${chain} ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade\n`);
    expect(nft).toMatch(new RegExp(`add rule ip kube-proxy ${chain} numgen random mod 3 vmap \\{ 0 : goto ${ep0} , 1 : goto endpoint-`));
    expect(nft).toContain(`add rule ip kube-proxy ${ep0} meta l4proto tcp dnat to 10.180.0.1:80\n`);
    expect(nft).toContain('add rule ip kube-proxy nat-prerouting jump services\n');
    expect(nft.startsWith('add table ip kube-proxy\ndelete table ip kube-proxy\n')).toBe(true);
  });

  it('batches map elements and suspends by flushing only the base chains', () => {
    const services = makeServices(2500, [backendIpFor(0)]);
    const nft = kubeProxyNftRuleset(services);
    expect(nft.match(/^add element ip kube-proxy service-ips /gm)?.length).toBe(3);
    expect(nft.match(/^add chain ip kube-proxy service-/gm)?.length).toBe(2500);
    const suspend = kubeProxyNftSuspend();
    expect(suspend).toContain('flush chain ip kube-proxy nat-prerouting\n');
    expect(suspend).not.toContain('service-');
    expect(kubeProxyNftResume()).toContain('add rule ip kube-proxy nat-output jump services\n');
  });
});

describe('benchmark service addressing', () => {
  it('allocates ClusterIPs from 172.30.0.0/16 without .0 or .255', () => {
    expect(clusterIpFor(0)).toBe('172.30.0.1');
    expect(clusterIpFor(253)).toBe('172.30.0.254');
    expect(clusterIpFor(254)).toBe('172.30.1.1');
    expect(clusterIpFor(29999)).toBe('172.30.118.28');
    const ips = new Set(Array.from({ length: 30000 }, (_, k) => clusterIpFor(k)));
    expect(ips.size).toBe(30000);
    expect([...ips].some((ip) => /\.(0|255)$/.test(ip))).toBe(false);
    expect(backendIpFor(9)).toBe('10.180.0.10');
  });
});
