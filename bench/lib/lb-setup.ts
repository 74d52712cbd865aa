// Builds the benchmark's world: a node namespace, a client pod and one
// backend pod holding every backend IP with a crr server, plus the
// per-namespace sysctls that keep back-to-back connection runs comparable.
import { open, readFile, rm } from 'node:fs/promises';
import type { Logger } from '../../src/log/logger.js';
import { cleanupStale, createPodNetwork, listNetns, sysctl, type NetnsProcess } from '../../src/netns/index.js';
import { startCrrServer } from './crr.js';
import { backendIpFor, SERVICE_CIDR } from './services.js';
import type { LbBenchContext } from './types.js';

/** Namespaces of one run are `ebblb<pid>-*`, so a second run never removes a live run's. */
export const BENCH_PREFIX = 'ebblb';
/** One bench:lb at a time: two runs on the same CPUs would corrupt each other's figures. */
export const LOCK_PATH = '/run/ebbflow-bench-lb.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces of earlier runs whose process is gone; returns what it removed. */
export async function cleanupDeadRuns(): Promise<string[]> {
  const removed: string[] = [];
  const owners = new Set<number>();
  for (const ns of await listNetns(BENCH_PREFIX)) {
    const m = /^ebblb(\d+)-/.exec(ns);
    if (m) owners.add(Number(m[1]));
  }
  for (const pid of owners) if (!alive(pid)) removed.push(...(await cleanupStale(`${BENCH_PREFIX}${pid}`)));
  return removed;
}

/** Takes the run lock (taking over a lock whose holder died); throws if a live run holds it. */
export async function acquireRunLock(): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(LOCK_PATH, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await rm(LOCK_PATH, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(LOCK_PATH, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new Error(`another bench:lb run (pid ${holder}) holds ${LOCK_PATH}; wait for it to finish`);
      }
      await rm(LOCK_PATH, { force: true });
    }
  }
  throw new Error(`could not take ${LOCK_PATH}`);
}

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
  await cleanupDeadRuns();
  const backendIps = Array.from({ length: opts.backends }, (_, j) => backendIpFor(j));
  const net = await createPodNetwork({
    prefix: `${BENCH_PREFIX}${process.pid}`,
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
