// The shape of a local cluster, computed from `ebbflow up` flags alone (so a
// second `up`, `status` and `down` agree on every name and address):
// a fabric namespace with a bridge where the server listens, and N node
// namespaces with one uplink each on that bridge. Every address lives inside
// these namespaces; none is ever added to the host.
import { join } from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/ebbflow';
export const DEFAULT_NAME = 'ebbflow';
export const MAX_NODES = 50;
/** Ports inside the namespaces (the interface other tools rely on). */
export const AGENT_METRICS_PORT = 9964;
export const AGENT_FLOWS_PORT = 4245;
export const KUBELET_PORT = 10250;
export const FABRIC_APISERVER_PORT = 6443;
export const ETCD_CLIENT_PORT = 2379;

export type ClusterDatastore = 'sqlite' | 'etcd';

export interface NodePlan {
  name: string;
  index: number;
  /** Named network namespace of the node: ebbflow-<name>. */
  netns: string;
  /** The node's uplink inside its namespace, and its peer on the fabric bridge. */
  uplink: 'eth0';
  fabricIf: string;
  /** InternalIP (on the fabric subnet). */
  ip: string;
  podCIDR: string;
  /** Everything of this node on disk: agent state, containerd, pod logs and volumes. */
  dir: string;
  /** cgroupfs parent of its pods (and cgroup v2 dir of the socket LB). */
  cgroupParent: string;
  logFile: string;
}

export interface ClusterPlan {
  name: string;
  dataDir: string;
  /** Host loopback port where kubectl reaches the API server. */
  port: number;
  datastore: ClusterDatastore;
  serviceCIDR: string;
  clusterCIDR: string;
  fabric: { netns: string; bridge: string; address: string; prefixLen: number };
  nodes: NodePlan[];
  /** Admin kubeconfig for the host (127.0.0.1:port). */
  kubeconfig: string;
  /** Server's own data dir (PKI, SQLite, the in-fabric kubeconfig the agents use). */
  serverDir: string;
  imagesDir: string;
  logsDir: string;
  stateFile: string;
}

export interface PlanOptions {
  name?: string;
  nodes?: number;
  dataDir?: string;
  port?: number;
  datastore?: ClusterDatastore;
}

const NAME_RE = /^[a-z][a-z0-9]{0,11}$/;

/** The cluster for these options; throws with a user-facing message on bad input. */
export function planCluster(opts: PlanOptions = {}): ClusterPlan {
  const name = opts.name ?? DEFAULT_NAME;
  if (!NAME_RE.test(name)) throw new Error(`--name ${JSON.stringify(name)}: 1-12 lower-case letters and digits, starting with a letter`);
  const count = opts.nodes ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) throw new Error(`--nodes ${count}: between 1 and ${MAX_NODES}`);
  const port = opts.port ?? 6443;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port ${port}: not a port number`);
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  const logsDir = join(dataDir, 'logs');
  // The default cluster's nodes are node1..N; another cluster prefixes its name
  // so that namespaces, pins and cgroups of two clusters never collide.
  const nodeName = (i: number) => (name === DEFAULT_NAME ? `node${i}` : `${name}-node${i}`);
  const nodes: NodePlan[] = [];
  for (let i = 1; i <= count; i++) {
    const n = nodeName(i);
    nodes.push({
      name: n,
      index: i,
      netns: `ebbflow-${n}`,
      uplink: 'eth0',
      fabricIf: `veth-node${i}`,
      ip: `10.233.0.${10 + i}`,
      podCIDR: `10.244.${i}.0/24`,
      dir: join(dataDir, 'nodes', n),
      cgroupParent: `/ebbflow-${n}`,
      logFile: join(logsDir, `${n}.log`),
    });
  }
  return {
    name,
    dataDir,
    port,
    datastore: opts.datastore ?? 'sqlite',
    serviceCIDR: '10.96.0.0/12',
    clusterCIDR: '10.244.0.0/16',
    fabric: { netns: name === DEFAULT_NAME ? 'ebbflow-fabric' : `ebbflow-${name}-fabric`, bridge: 'ebf-br0', address: '10.233.0.1', prefixLen: 24 },
    nodes,
    kubeconfig: join(dataDir, 'kubeconfig'),
    serverDir: join(dataDir, 'server'),
    imagesDir: join(dataDir, 'images'),
    logsDir,
    stateFile: join(dataDir, 'cluster.json'),
  };
}

/** The API server URL as seen from inside the fabric (agents, kubelets, pods). */
export function fabricApiUrl(plan: ClusterPlan): string {
  return `https://${plan.fabric.address}:${FABRIC_APISERVER_PORT}`;
}
