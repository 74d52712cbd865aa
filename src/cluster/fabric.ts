// The local cluster's network: a fabric namespace holding a bridge (the
// server's address is on it) and one namespace per node with an uplink
// veth on that bridge. Nodes have no default route: only the fabric subnet
// and (installed by the agents) each other's pod CIDRs, so no cluster packet
// can leave the machine. Creation is idempotent (a second `up` repairs what
// is missing) and deletion removes every namespace and so every interface.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createNetns, deleteNetns, netnsExists, sysctl } from '../netns/index.js';
import type { ClusterPlan, NodePlan } from './plan.js';

const run = promisify(execFile);

async function ip(ns: string, args: string[]): Promise<string> {
  return (await run('ip', ['-n', ns, ...args], { timeout: 10_000 })).stdout;
}

async function linkExists(ns: string, ifname: string): Promise<boolean> {
  try {
    await ip(ns, ['link', 'show', 'dev', ifname]);
    return true;
  } catch {
    return false;
  }
}

async function hasAddress(ns: string, ifname: string, addr: string): Promise<boolean> {
  const rows = JSON.parse(await ip(ns, ['-j', '-4', 'addr', 'show', 'dev', ifname])) as { addr_info?: { local: string }[] }[];
  return rows.some((r) => (r.addr_info ?? []).some((a) => a.local === addr));
}

/** Creates (or completes) the fabric namespace and its bridge. */
export async function ensureFabric(plan: ClusterPlan): Promise<void> {
  const { netns, bridge, address, prefixLen } = plan.fabric;
  await createNetns(netns, { reuse: true });
  if (!(await linkExists(netns, bridge))) await ip(netns, ['link', 'add', bridge, 'type', 'bridge']);
  if (!(await hasAddress(netns, bridge, address))) await ip(netns, ['addr', 'add', `${address}/${prefixLen}`, 'dev', bridge]);
  await ip(netns, ['link', 'set', bridge, 'up']);
}

/** Creates (or completes) one node's namespace and its uplink on the fabric bridge. */
export async function ensureNodeNetwork(plan: ClusterPlan, node: NodePlan): Promise<void> {
  const f = plan.fabric;
  await createNetns(node.netns, { reuse: true });
  if (!(await linkExists(node.netns, node.uplink))) {
    // A half-made pair from an interrupted run: start that link over.
    if (await linkExists(f.netns, node.fabricIf)) await ip(f.netns, ['link', 'del', node.fabricIf]);
    await ip(node.netns, ['link', 'add', node.uplink, 'type', 'veth', 'peer', 'name', node.fabricIf, 'netns', f.netns]);
  }
  await ip(f.netns, ['link', 'set', node.fabricIf, 'master', f.bridge, 'up']);
  if (!(await hasAddress(node.netns, node.uplink, node.ip))) await ip(node.netns, ['addr', 'add', `${node.ip}/${f.prefixLen}`, 'dev', node.uplink]);
  await ip(node.netns, ['link', 'set', node.uplink, 'up']);
  await sysctl(node.netns, 'net.ipv4.ip_forward', 1);
  // The fabric is the nodes' router too: what it hosts (the server, cluster
  // DNS) answers pods directly, so it routes each pod CIDR to its node.
  await ip(f.netns, ['route', 'replace', node.podCIDR, 'via', node.ip, 'dev', f.bridge]);
}

/** Deletes the node namespaces and the fabric (absent ones are fine). */
export async function deleteClusterNetwork(plan: ClusterPlan): Promise<void> {
  for (const n of plan.nodes) await deleteNetns(n.netns);
  await deleteNetns(plan.fabric.netns);
}

/** Which of the cluster's namespaces exist. */
export async function existingNamespaces(plan: ClusterPlan): Promise<string[]> {
  const out: string[] = [];
  for (const ns of [plan.fabric.netns, ...plan.nodes.map((n) => n.netns)]) if (await netnsExists(ns)) out.push(ns);
  return out;
}
