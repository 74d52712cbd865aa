// Wires and unwires one pod's network the way the test topology does: a veth
// with its host side in the agent's ("host") namespace and its pod side
// created directly inside the pod's netns under CNI_IFNAME; the pod gets its
// /32, a scope-link route to the 169.254.1.1 gateway and an onlink default
// route; the host side carries 169.254.1.1/32 and routes the pod's /32 to the veth.
import { createHash } from 'node:crypto';
import { NetlinkError, NetlinkHandle, POD_GATEWAY } from './cni-netlink.js';

/** The host-side veth name of a container's interface: "ebf" + 11 hex of a hash (fits IFNAMSIZ). */
export function hostIfname(containerId: string, ifname: string): string {
  return `ebf${createHash('sha256').update(`${containerId}/${ifname}`).digest('hex').slice(0, 11)}`;
}

/** True for names hostIfname() makes (so GC can sweep veths no allocation accounts for). */
export const isHostIfname = (name: string) => /^ebf[0-9a-f]{11}$/.test(name);

export interface WiredPod {
  hostIfname: string;
  hostIfindex: number;
  hostMac: string;
  podIfindex: number;
  podMac: string;
}

export interface PodNetworkSpec {
  containerId: string;
  ifname: string;
  netns: string;
  ip: string;
  mtu: number;
}

/** Creates and configures the veth pair; on failure removes what it created and rethrows. */
export async function wirePod(host: NetlinkHandle, spec: PodNetworkSpec): Promise<WiredPod> {
  const hostIf = hostIfname(spec.containerId, spec.ifname);
  // Opening the pod socket first fails fast (ENOENT) on a vanished netns.
  const pod = NetlinkHandle.open(spec.netns);
  let created = false;
  try {
    await host.createVeth(hostIf, spec.ifname, spec.netns, spec.mtu);
    created = true;
    const podLink = await pod.linkInfo(spec.ifname);
    const hostLink = await host.linkInfo(hostIf);
    if (!podLink || !hostLink) throw new NetlinkError('newLink veth', 'ENODEV', `veth ${hostIf}/${spec.ifname} vanished after creation`);
    await pod.addAddress32(podLink.index, spec.ip);
    await pod.setUp(podLink.index);
    await pod.addRoute({ dst: POD_GATEWAY, dstLen: 32, index: podLink.index });
    await pod.addRoute({ dst: '0.0.0.0', dstLen: 0, index: podLink.index, gateway: POD_GATEWAY });
    // The gateway address on the host side answers the pod's ARP for 169.254.1.1
    // and is the source of the node's ARP for the pod (as the test topology does).
    await host.addAddress32(hostLink.index, POD_GATEWAY);
    await host.setUp(hostLink.index);
    await host.addRoute({ dst: spec.ip, dstLen: 32, index: hostLink.index });
    return { hostIfname: hostIf, hostIfindex: hostLink.index, hostMac: hostLink.mac, podIfindex: podLink.index, podMac: podLink.mac };
  } catch (err) {
    if (created) await host.deleteLink(hostIf).catch(() => undefined);
    throw err;
  } finally {
    pod.close();
  }
}

/** Removes the host veth (its peer goes with it) and the /32 route; a missing one is not an error. */
export async function unwirePod(host: NetlinkHandle, containerId: string, ifname: string, ip: string | undefined): Promise<void> {
  // The route disappears with the link; delete it explicitly first in case it was re-pointed.
  if (ip) await host.deleteRoute32(ip);
  await host.deleteLink(hostIfname(containerId, ifname));
}

/** What CHECK found wrong (empty when the pod's network is as ADD left it). */
export async function checkPod(host: NetlinkHandle, spec: Omit<PodNetworkSpec, 'mtu'>): Promise<string[]> {
  const problems: string[] = [];
  const hostIf = hostIfname(spec.containerId, spec.ifname);
  const hostLink = await host.linkInfo(hostIf);
  if (!hostLink) problems.push(`host veth ${hostIf} is missing`);
  else if (!hostLink.up) problems.push(`host veth ${hostIf} is down`);
  if (hostLink) {
    const r = (await host.routes()).find((x) => x.dst === `${spec.ip}/32`);
    if (!r || r.oif !== hostLink.index) problems.push(`host route ${spec.ip}/32 dev ${hostIf} is missing`);
  }
  let pod: NetlinkHandle;
  try {
    pod = NetlinkHandle.open(spec.netns);
  } catch (err) {
    return [...problems, `netns ${spec.netns} cannot be entered: ${(err as Error).message}`];
  }
  try {
    const podLink = await pod.linkInfo(spec.ifname);
    if (!podLink) return [...problems, `${spec.ifname} is missing in ${spec.netns}`];
    if (!podLink.up) problems.push(`${spec.ifname} is down`);
    if (!(await pod.addresses(podLink.index)).includes(spec.ip)) problems.push(`${spec.ifname} lacks ${spec.ip}`);
    const routes = await pod.routes();
    if (!routes.some((r) => r.dst === '0.0.0.0/0' && r.gateway === POD_GATEWAY && r.oif === podLink.index)) {
      problems.push(`default route via ${POD_GATEWAY} is missing`);
    }
  } finally {
    pod.close();
  }
  return problems;
}
