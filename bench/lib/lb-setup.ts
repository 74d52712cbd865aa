// Builds the benchmark's world: a node namespace, a client pod and one
// backend pod holding every backend IP with a crr server, plus the
// per-namespace sysctls that keep back-to-back connection runs comparable.
import type { Logger } from '../../src/log/logger.js';
import { cleanupStale, createPodNetwork, sysctl, type NetnsProcess } from '../../src/netns/index.js';
import { startCrrServer } from './crr.js';
import { backendIpFor, SERVICE_CIDR } from './services.js';
import type { LbBenchContext } from './types.js';

export const BENCH_PREFIX = 'ebblb';

export interface LbWorld {
  ctx: LbBenchContext;
  server: NetnsProcess;
  destroy(): Promise<void>;
}

// See FACTS "Measuring new-connection rates in namespaces": wide port range,
// TIME_WAIT reuse and a small bucket cap, short conntrack timeouts for the
// closing states so NAT entries of one run do not linger into the next.
const TCP_SYSCTLS: Array<[string, string | number]> = [
  ['net.ipv4.ip_local_port_range', '1024 65535'],
  ['net.ipv4.tcp_tw_reuse', 1],
  ['net.ipv4.tcp_max_tw_buckets', 4096],
  ['net.core.somaxconn', 4096],
  ['net.ipv4.tcp_max_syn_backlog', 4096],
];
const CONNTRACK_SYSCTLS: Array<[string, string | number]> = [
  ['net.netfilter.nf_conntrack_tcp_timeout_time_wait', 1],
  ['net.netfilter.nf_conntrack_tcp_timeout_close', 1],
  ['net.netfilter.nf_conntrack_tcp_timeout_close_wait', 1],
  ['net.netfilter.nf_conntrack_tcp_timeout_fin_wait', 1],
  ['net.netfilter.nf_conntrack_tcp_timeout_last_ack', 1],
];

export interface LbWorldOptions {
  crrPath: string;
  repoRoot: string;
  backends: number;
  logger: Logger;
  /** CPU lists for taskset; undefined means unpinned. */
  clientCpus?: string;
  serverCpus?: string;
  serverThreads: number;
}

/** Creates the topology, applies sysctls and starts the backend server. */
export async function createLbWorld(opts: LbWorldOptions): Promise<LbWorld> {
  await cleanupStale(BENCH_PREFIX);
  const backendIps = Array.from({ length: opts.backends }, (_, j) => backendIpFor(j));
  const net = await createPodNetwork({
    prefix: BENCH_PREFIX,
    pods: [
      { name: 'client', ip: '10.200.0.10' },
      { name: 'backend', ip: '10.200.0.20', extraIps: backendIps },
    ],
    logger: opts.logger,
  });
  try {
    for (const ns of [net.nodeNs, ...net.pods.map((p) => p.ns)]) {
      for (const [k, v] of TCP_SYSCTLS) await sysctl(ns, k, v);
      for (const [k, v] of CONNTRACK_SYSCTLS) await sysctl(ns, k, v);
    }
    const client = net.pods[0]!;
    const backend = net.pods[1]!;
    const server = await startCrrServer({
      ns: backend.ns,
      crrPath: opts.crrPath,
      port: 80,
      threads: opts.serverThreads,
      cpus: opts.serverCpus,
    });
    const ctx: LbBenchContext = {
      net,
      nodeNs: net.nodeNs,
      client,
      backend,
      backendIps,
      backendPort: 80,
      clusterCidr: '10.0.0.0/8',
      serviceCidr: SERVICE_CIDR,
      crrPath: opts.crrPath,
      repoRoot: opts.repoRoot,
      logger: opts.logger,
    };
    return {
      ctx,
      server,
      async destroy() {
        server.kill('SIGKILL');
        await server.wait();
        await net.destroy();
      },
    };
  } catch (err) {
    await net.destroy();
    throw err;
  }
}
