// Types shared by the Service load-balancing benchmark (bench/lb.ts), its
// ruleset generators and the pluggable ebbflow mode (bench/lb-ebbflow.ts).
import type { Logger } from '../../src/log/logger.js';
import type { PodInfo, PodNetwork } from '../../src/netns/index.js';

export interface BenchEndpoint {
  ip: string;
  port: number;
}

/** One ClusterIP Service port with its ready endpoints. */
export interface BenchService {
  namespace: string;
  name: string;
  /** Kubernetes port name; empty for an unnamed port. */
  portName: string;
  protocol: 'tcp';
  clusterIP: string;
  port: number;
  endpoints: BenchEndpoint[];
}

/** What every mode gets: the topology and where the client and backends run. */
export interface LbBenchContext {
  net: PodNetwork;
  /** Namespace of the node: where kube-proxy-style rules (or tc programs) live. */
  nodeNs: string;
  client: PodInfo;
  /** The one pod that holds every backend IP, with a crr server on 0.0.0.0:backendPort. */
  backend: PodInfo;
  backendIps: string[];
  backendPort: number;
  /** Cluster CIDR of the pods (kube-proxy's --cluster-cidr). */
  clusterCidr: string;
  /** Service CIDR the ClusterIPs come from. */
  serviceCidr: string;
  /** Absolute path of the crr binary. */
  crrPath: string;
  /** Repository root, for finding build outputs such as build/bpf/*.o. */
  repoRoot: string;
  logger: Logger;
}

/** A load-balancing implementation under test. */
export interface LbMode {
  name: string;
  /**
   * Installs the given services, replacing any earlier set (called once per
   * service count); reports how long programming took. It may leave the mode
   * on the data path: the harness calls suspend() right after.
   */
  program(services: BenchService[]): Promise<{ programMs: number }>;
  /**
   * cgroup v2 directory the client must run in (socket-level LB attaches to
   * a cgroup); the harness creates nothing for it, the mode owns it.
   */
  clientCgroup?: string;
  /**
   * Take the mode's hooks off the data path without forgetting the programmed
   * services, and put them back: the harness programs each mode once per
   * service count, then alternates modes with resume/suspend around runs.
   */
  suspend(): Promise<void>;
  resume(): Promise<void>;
  /** Removes everything the mode installed; called once, at the end of the run. */
  teardown(): Promise<void>;
}

/** The crr client's JSON report. */
export interface CrrResult {
  connections: number;
  errors: number;
  connect_errors: number;
  timeouts: number;
  seconds: number;
  rate: number;
  connect_p50_us: number;
  connect_p99_us: number;
  crr_p50_us: number;
  crr_p99_us: number;
  samples: number;
  samples_dropped: number;
  targets: number;
  concurrency: number;
}
