// Links inside namespaces: veth pairs, state, addresses, routes, neighbors.
import {
  addressArgs,
  neighborArgs,
  routeArgs,
  vethPairArgs,
  type RouteOptions,
  type VethPairSpec,
} from './args.js';
import { InvalidArgumentError } from './errors.js';
import { run } from './exec.js';
import { checkIfName, checkNetnsName } from './names.js';

export type { RouteOptions, VethPairSpec };

/** Creates a veth pair in one request: ifA in nsA, its peer ifB directly in nsB. */
export async function createVethPair(spec: VethPairSpec): Promise<void> {
  await run('ip', vethPairArgs(spec));
}

/** Sets a link up. */
export async function setUp(ns: string, ifname: string): Promise<void> {
  await run('ip', ['-n', checkNetnsName(ns), 'link', 'set', checkIfName(ifname), 'up']);
}

/** Adds an address (`a.b.c.d/len`; a bare address means /32). */
export async function addAddress(ns: string, ifname: string, cidr: string): Promise<void> {
  await run('ip', addressArgs(ns, ifname, cidr));
}

/** Adds or replaces a route (`default` or a CIDR) via a gateway and/or device. */
export async function addRoute(ns: string, dst: string, opts: RouteOptions): Promise<void> {
  await run('ip', routeArgs(ns, dst, opts));
}

/** Installs a permanent neighbor entry so no ARP is needed for `ip` on `ifname`. */
export async function setNeighbor(ns: string, ifname: string, ip: string, mac: string): Promise<void> {
  await run('ip', neighborArgs(ns, ifname, ip, mac));
}

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  address?: string;
}

async function showLink(ns: string, ifname: string): Promise<IpLinkJson> {
  const { stdout } = await run('ip', ['-n', checkNetnsName(ns), '-j', 'link', 'show', 'dev', checkIfName(ifname)]);
  const parsed = JSON.parse(stdout) as IpLinkJson[];
  const link = parsed[0];
  if (link === undefined) throw new InvalidArgumentError('interface', `${ns}/${ifname}`, 'not found');
  return link;
}

/** The interface index of `ifname` inside `ns`. */
export async function linkIndex(ns: string, ifname: string): Promise<number> {
  return (await showLink(ns, ifname)).ifindex;
}

/** The MAC address (lower case) of `ifname` inside `ns`. */
export async function linkMac(ns: string, ifname: string): Promise<string> {
  const mac = (await showLink(ns, ifname)).address;
  if (mac === undefined) throw new InvalidArgumentError('interface', `${ns}/${ifname}`, 'has no link-layer address');
  return mac.toLowerCase();
}
