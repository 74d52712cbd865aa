// The pod-network plumbing the CNI server does over rtnetlink (the `netlink`
// package): one veth pair per pod, its /32 address and routes on the pod
// side, the /32 route on the host side. A socket lives in the namespace of
// the thread that created it, so each namespace gets its own socket made
// inside withNetns (a short synchronous setns switch).
import { closeSync, openSync } from 'node:fs';
import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import { withNetns } from '../dataplane/native.js';

/** The link-local gateway every pod routes through (as the test topology does). */
export const POD_GATEWAY = '169.254.1.1';

const AF_INET = 2;
const NLM_F_CREATE_EXCL = 0x400 | 0x200;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;
const RTNH_F_ONLINK = 4;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const REQUEST_TIMEOUT_MS = 5000;

/** A netlink failure with the kernel's error name (EEXIST, ENODEV, ...) as code. */
export class NetlinkError extends Error {
  constructor(readonly op: string, readonly code: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'NetlinkError';
  }
}

function wrap(op: string, err: unknown): NetlinkError {
  const msg = err instanceof Error ? err.message : String(err);
  // The package reports kernel errors only as text: "Request rejected: EEXIST".
  const m = /Request rejected: (E[A-Z]+)/.exec(msg);
  return new NetlinkError(op, m ? m[1] : 'EUNKNOWN', msg);
}

async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrap(op, err);
  }
}

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

/** IFLA_LINKINFO for a veth whose peer is named `peerName` and created in the namespace of `peerNsFd`. */
export function vethLinkInfo(peerName: string, peerNsFd: number, mtu: number): Buffer {
  // VETH_INFO_PEER carries a struct ifinfomsg (16 zero bytes) followed by the peer's IFLA attributes.
  const peer = Buffer.concat([
    Buffer.alloc(16),
    attr(IFLA_IFNAME, cstr(peerName)),
    attr(IFLA_MTU, u32(mtu)),
    attr(IFLA_NET_NS_FD, u32(peerNsFd)),
  ]);
  return Buffer.concat([attr(IFLA_INFO_KIND, cstr('veth')), attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer))]);
}

export const ipv4Bytes = (ip: string) => Buffer.from(ip.split('.').map(Number));
const ipv4String = (b: Buffer | undefined) => (b ? [...b].join('.') : undefined);

/** One rtnetlink socket bound to a namespace (null: the calling thread's own). */
export class NetlinkHandle {
  private readonly sock: RtNetlinkSocket;

  private constructor(sock: RtNetlinkSocket) {
    this.sock = sock;
  }

  /** Opens a socket inside `netnsPath`; throws ENOENT-style errors when it is gone. */
  static open(netnsPath: string | null): NetlinkHandle {
    const sock = netnsPath ? withNetns(netnsPath, () => createRtNetlink()) : createRtNetlink();
    return new NetlinkHandle(sock);
  }

  close(): void {
    this.sock.socket.close();
  }

  /** The index of `ifname`, or null when absent. */
  async linkIndex(ifname: string): Promise<number | null> {
    try {
      const links = await this.sock.getLink({}, { ifname }, { timeout: REQUEST_TIMEOUT_MS });
      return links[0]?.data.index ?? null;
    } catch (err) {
      const e = wrap('getLink', err);
      if (e.code === 'ENODEV') return null;
      throw e;
    }
  }

  /** The link's MAC (lower-case hex with colons) and whether it is administratively up. */
  async linkInfo(ifname: string): Promise<{ index: number; mac: string; up: boolean; mtu: number } | null> {
    try {
      const [link] = await this.sock.getLink({}, { ifname }, { timeout: REQUEST_TIMEOUT_MS });
      if (!link) return null;
      const mac = [...(link.attrs.address ?? Buffer.alloc(0))].map((x) => x.toString(16).padStart(2, '0')).join(':');
      return { index: link.data.index ?? 0, mac, up: link.data.flags?.up === true, mtu: link.attrs.mtu ?? 0 };
    } catch (err) {
      const e = wrap('getLink', err);
      if (e.code === 'ENODEV') return null;
      throw e;
    }
  }

  /** Names of every link in the namespace. */
  async linkNames(): Promise<string[]> {
    const links = await call('getLinks', () => this.sock.getLinks({}, {}, { timeout: REQUEST_TIMEOUT_MS }));
    return links.map((l) => l.attrs.ifname ?? '').filter((n) => n !== '');
  }

  /** Creates veth `hostIf` here with its peer `podIf` directly inside the namespace at `podNetns`. */
  async createVeth(hostIf: string, podIf: string, podNetns: string, mtu: number): Promise<void> {
    const fd = openSync(podNetns, 'r');
    try {
      await call('newLink veth', () => this.sock.newLink({}, { ifname: hostIf, mtu, linkinfo: vethLinkInfo(podIf, fd, mtu) },
        { flags: NLM_F_CREATE_EXCL, timeout: REQUEST_TIMEOUT_MS }));
    } finally {
      closeSync(fd);
    }
  }

  async setUp(index: number): Promise<void> {
    await call('setLink up', () => this.sock.setLink({ index, change: { up: true }, flags: { up: true } }, {}, { timeout: REQUEST_TIMEOUT_MS }));
  }

  /** Deletes a link by name; false when it did not exist. */
  async deleteLink(ifname: string): Promise<boolean> {
    const index = await this.linkIndex(ifname);
    if (index === null) return false;
    try {
      await this.sock.delLink({ index }, {}, { timeout: REQUEST_TIMEOUT_MS });
      return true;
    } catch (err) {
      const e = wrap('delLink', err);
      if (e.code === 'ENODEV') return false;
      throw e;
    }
  }

  /** Adds `ip`/32 on the link. */
  async addAddress32(index: number, ip: string): Promise<void> {
    const b = ipv4Bytes(ip);
    await call('newAddress', () => this.sock.newAddress({ family: AF_INET, prefixlen: 32, index, scope: RT_SCOPE_UNIVERSE },
      { local: b, address: b }, { flags: NLM_F_CREATE_EXCL, timeout: REQUEST_TIMEOUT_MS }));
  }

  /** IPv4 addresses (without prefix) on the link. */
  async addresses(index: number): Promise<string[]> {
    const all = await call('getAddresses', () => this.sock.getAddresses({ family: AF_INET }, {}, { timeout: REQUEST_TIMEOUT_MS }));
    return all.filter((a) => a.data.index === index).map((a) => ipv4String(a.attrs.local ?? a.attrs.address)!).filter(Boolean);
  }

  /** Adds a route: a /32 (or /len) to `dst` out of `index`, scope link, or via an onlink gateway. */
  async addRoute(opts: { dst: string; dstLen: number; index: number; gateway?: string }): Promise<void> {
    const attrs: { oif: number; dst?: Buffer; gateway?: Buffer } = { oif: opts.index };
    if (opts.dstLen > 0) attrs.dst = ipv4Bytes(opts.dst);
    if (opts.gateway) attrs.gateway = ipv4Bytes(opts.gateway);
    await call('newRoute', () => this.sock.newRoute({
      family: AF_INET, dstLen: opts.dstLen, table: RT_TABLE_MAIN, protocol: RTPROT_BOOT,
      scope: opts.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK, type: RTN_UNICAST,
      flags: opts.gateway ? { __unknown: RTNH_F_ONLINK } : {},
    }, attrs, { flags: NLM_F_CREATE_EXCL, timeout: REQUEST_TIMEOUT_MS }));
  }

  /** Main-table IPv4 routes as (dst/len, oif, gateway). */
  async routes(): Promise<{ dst: string; oif?: number; gateway?: string }[]> {
    const all = await call('getRoutes', () => this.sock.getRoutes({ family: AF_INET }, {}, { timeout: REQUEST_TIMEOUT_MS }));
    return all
      .filter((r) => r.attrs.table === RT_TABLE_MAIN || r.data.table === RT_TABLE_MAIN)
      .map((r) => ({ dst: `${ipv4String(r.attrs.dst) ?? '0.0.0.0'}/${r.data.dstLen ?? 0}`, oif: r.attrs.oif, gateway: ipv4String(r.attrs.gateway) }));
  }

  /** Deletes the main-table route to `dst`/32; false when absent. */
  async deleteRoute32(dst: string): Promise<boolean> {
    try {
      // Scope NOWHERE is the kernel's wildcard when deleting (any scope matches).
      await this.sock.delRoute({ family: AF_INET, dstLen: 32, table: RT_TABLE_MAIN, scope: RT_SCOPE_NOWHERE },
        { dst: ipv4Bytes(dst) }, { timeout: REQUEST_TIMEOUT_MS });
      return true;
    } catch (err) {
      const e = wrap('delRoute', err);
      if (e.code === 'ESRCH' || e.code === 'ENOENT') return false;
      throw e;
    }
  }
}
