// A "node with pods" built from namespaces: one node namespace routing /32s
// to one veth per pod, pods defaulting to a link-local gateway on that veth.
// Used by integration tests and benchmarks; destroy() removes all of it.
import type { Logger } from '../log/logger.js';
import { checkIpv4 } from './args.js';
import { addAddress, addRoute, createVethPair, linkIndex, linkMac, setNeighbor, setUp } from './links.js';
import { createNetns, deleteNetns, listNetns, sysctl } from './namespaces.js';
import { hostIfName, nodeNetnsName, podNetnsName } from './names.js';
import { InvalidArgumentError } from './errors.js';

/** The gateway every pod routes through; it sits on each node-side veth as a /32. */
export const POD_GATEWAY = '169.254.1.1';
/** The pod-side interface name. */
export const POD_IFNAME = 'eth0';

export interface PodSpec {
  name: string;
  /** Primary address, e.g. 10.200.0.10 (configured as /32). */
  ip: string;
  /** More /32 addresses on the pod's eth0, routed to it by the node. */
  extraIps?: string[];
}

export interface PodNetworkOptions {
  /** Namespace names are `<prefix>-node` and `<prefix>-<pod>`. */
  prefix: string;
  pods: PodSpec[];
  /** Address of the node itself (/32 on the node's lo); default 10.200.255.254. */
  nodeIp?: string;
  mtu?: number;
  logger?: Logger;
}

export interface PodInfo {
  name: string;
  ns: string;
  ip: string;
  /** Primary and extra addresses. */
  ips: string[];
  podIf: string;
  podIfIndex: number;
  podMac: string;
  /** Node-side veth name and index, in the node namespace. */
  hostIf: string;
  hostIfIndex: number;
  hostMac: string;
}

export interface PodNetwork {
  nodeNs: string;
  nodeIp: string;
  gateway: string;
  pods: PodInfo[];
  /** Deletes every namespace this topology created (their veths go with them). */
  destroy(): Promise<void>;
}

function checkSpec(opts: PodNetworkOptions): void {
  const names = new Set<string>();
  const ips = new Set<string>();
  for (const pod of opts.pods) {
    if (pod.name === 'node') throw new InvalidArgumentError('pod name', pod.name, 'reserved for the node namespace');
    if (names.has(pod.name)) throw new InvalidArgumentError('pod name', pod.name, 'duplicate');
    names.add(pod.name);
    podNetnsName(opts.prefix, pod.name);
    for (const ip of [pod.ip, ...(pod.extraIps ?? [])]) {
      checkIpv4(ip);
      if (ips.has(ip)) throw new InvalidArgumentError('pod address', ip, 'duplicate');
      ips.add(ip);
    }
  }
}

/** Builds the node namespace and one namespace + veth per pod; on failure removes what it made. */
export async function createPodNetwork(opts: PodNetworkOptions): Promise<PodNetwork> {
  checkSpec(opts);
  const nodeNs = nodeNetnsName(opts.prefix);
  const nodeIp = checkIpv4(opts.nodeIp ?? '10.200.255.254');
  const created: string[] = [];
  const destroy = async (): Promise<void> => {
    // Pods first: deleting their namespaces removes the veth pairs.
    for (const ns of [...created].reverse()) await deleteNetns(ns);
    created.length = 0;
  };
  try {
    await createNetns(nodeNs);
    created.push(nodeNs);
    await sysctl(nodeNs, 'net.ipv4.ip_forward', 1);
    await sysctl(nodeNs, 'net.ipv4.conf.all.rp_filter', 0);
    await sysctl(nodeNs, 'net.ipv4.conf.default.rp_filter', 0);
    await addAddress(nodeNs, 'lo', `${nodeIp}/32`);
    const pods: PodInfo[] = [];
    for (const [index, spec] of opts.pods.entries()) {
      const ns = podNetnsName(opts.prefix, spec.name);
      await createNetns(ns);
      created.push(ns);
      pods.push(await wirePod(nodeNs, ns, spec, hostIfName(opts.prefix, index), opts.mtu));
      opts.logger?.debug({ pod: spec.name, ns }, 'pod namespace wired');
    }
    return { nodeNs, nodeIp, gateway: POD_GATEWAY, pods, destroy };
  } catch (err) {
    await destroy().catch((cleanupErr: unknown) => {
      opts.logger?.error({ err: cleanupErr }, 'cleanup after failed createPodNetwork failed');
    });
    throw err;
  }
}

async function wirePod(nodeNs: string, ns: string, spec: PodSpec, hostIf: string, mtu?: number): Promise<PodInfo> {
  await sysctl(ns, 'net.ipv4.conf.all.rp_filter', 0);
  await sysctl(ns, 'net.ipv4.conf.default.rp_filter', 0);
  await createVethPair({ nsA: nodeNs, ifA: hostIf, nsB: ns, ifB: POD_IFNAME, mtu });
  await setUp(nodeNs, hostIf);
  await setUp(ns, POD_IFNAME);
  await addAddress(nodeNs, hostIf, `${POD_GATEWAY}/32`);
  const ips = [spec.ip, ...(spec.extraIps ?? [])];
  for (const ip of ips) await addAddress(ns, POD_IFNAME, `${ip}/32`);
  await addRoute(ns, `${POD_GATEWAY}/32`, { dev: POD_IFNAME, scope: 'link' });
  await addRoute(ns, 'default', { via: POD_GATEWAY, dev: POD_IFNAME, onlink: true });
  const [hostIfIndex, hostMac, podIfIndex, podMac] = await Promise.all([
    linkIndex(nodeNs, hostIf),
    linkMac(nodeNs, hostIf),
    linkIndex(ns, POD_IFNAME),
    linkMac(ns, POD_IFNAME),
  ]);
  // Static neighbors both ways: no ARP on the data path, so first packets of
  // benchmark connections never wait for resolution.
  await setNeighbor(ns, POD_IFNAME, POD_GATEWAY, hostMac);
  for (const ip of ips) {
    await addRoute(nodeNs, `${ip}/32`, { dev: hostIf, scope: 'link' });
    await setNeighbor(nodeNs, hostIf, ip, podMac);
  }
  return { name: spec.name, ns, ip: spec.ip, ips, podIf: POD_IFNAME, podIfIndex, podMac, hostIf, hostIfIndex, hostMac };
}

/** Deletes leftover `<prefix>-*` namespaces from a crashed run; returns the names removed. */
export async function cleanupStale(prefix: string): Promise<string[]> {
  const stale = await listNetns(`${prefix}-`);
  for (const ns of stale) await deleteNetns(ns);
  return stale;
}
