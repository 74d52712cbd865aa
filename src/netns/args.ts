// Pure builders of iproute2 argument lists, kept apart from execution so the
// exact commands are unit-tested without root.
import { InvalidArgumentError } from './errors.js';
import { checkIfName, checkNetnsName } from './names.js';

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Throws unless `ip` is a dotted-quad IPv4 address. */
export function checkIpv4(ip: string): string {
  if (!IPV4_RE.test(ip)) throw new InvalidArgumentError('IPv4 address', ip, 'expected a.b.c.d');
  return ip;
}

/** Throws unless `cidr` is `a.b.c.d/len` (len 0-32); a bare address is taken as /32. */
export function checkCidr(cidr: string): string {
  const [ip, len, ...rest] = cidr.split('/');
  if (rest.length > 0 || ip === undefined) throw new InvalidArgumentError('CIDR', cidr, 'expected a.b.c.d/len');
  checkIpv4(ip);
  if (len === undefined) return `${ip}/32`;
  const n = Number(len);
  if (!/^\d{1,2}$/.test(len) || n > 32) throw new InvalidArgumentError('CIDR', cidr, 'prefix length must be 0-32');
  return cidr;
}

/** A route destination: `default` or a CIDR. */
function checkDst(dst: string): string {
  return dst === 'default' ? dst : checkCidr(dst);
}

export interface VethPairSpec {
  nsA: string;
  ifA: string;
  nsB: string;
  ifB: string;
  mtu?: number;
}

/** `ip -n nsA link add ifA [mtu M] type veth peer name ifB [mtu M] netns nsB` */
export function vethPairArgs(spec: VethPairSpec): string[] {
  checkNetnsName(spec.nsA);
  checkNetnsName(spec.nsB);
  checkIfName(spec.ifA);
  checkIfName(spec.ifB);
  const mtu: string[] = [];
  if (spec.mtu !== undefined) {
    if (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535) {
      throw new InvalidArgumentError('MTU', String(spec.mtu), 'must be an integer 68-65535');
    }
    mtu.push('mtu', String(spec.mtu));
  }
  // The peer's MTU is set explicitly too: veth does not copy it to the peer.
  return ['-n', spec.nsA, 'link', 'add', spec.ifA, ...mtu, 'type', 'veth', 'peer', 'name', spec.ifB, ...mtu, 'netns', spec.nsB];
}

export interface RouteOptions {
  via?: string;
  dev?: string;
  src?: string;
  onlink?: boolean;
  /** Route scope (`link`, `global`, ...); iproute2 picks one when omitted. */
  scope?: 'link' | 'global' | 'host';
}

/** `ip -n ns route replace dst [via V] [dev D] [src S] [scope X] [onlink]` */
export function routeArgs(ns: string, dst: string, opts: RouteOptions): string[] {
  checkNetnsName(ns);
  const args = ['-n', ns, 'route', 'replace', checkDst(dst)];
  if (opts.via !== undefined) args.push('via', checkIpv4(opts.via));
  if (opts.dev !== undefined) args.push('dev', checkIfName(opts.dev));
  if (opts.src !== undefined) args.push('src', checkIpv4(opts.src));
  if (opts.scope !== undefined) args.push('scope', opts.scope);
  if (opts.onlink === true) args.push('onlink');
  if (opts.via === undefined && opts.dev === undefined) {
    throw new InvalidArgumentError('route', dst, 'needs via or dev');
  }
  return args;
}

/** `ip -n ns neigh replace ip lladdr mac dev ifname nud permanent` */
export function neighborArgs(ns: string, ifname: string, ip: string, mac: string): string[] {
  checkNetnsName(ns);
  checkIfName(ifname);
  checkIpv4(ip);
  if (!MAC_RE.test(mac)) throw new InvalidArgumentError('MAC address', mac, 'expected xx:xx:xx:xx:xx:xx');
  return ['-n', ns, 'neigh', 'replace', ip, 'lladdr', mac.toLowerCase(), 'dev', ifname, 'nud', 'permanent'];
}

/** `ip -n ns addr add cidr dev ifname` */
export function addressArgs(ns: string, ifname: string, cidr: string): string[] {
  checkNetnsName(ns);
  checkIfName(ifname);
  return ['-n', ns, 'addr', 'add', checkCidr(cidr), 'dev', ifname];
}

/** `ip netns exec ns sysctl -qw key=value` */
export function sysctlArgs(ns: string, key: string, value: string | number): string[] {
  checkNetnsName(ns);
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(key)) {
    throw new InvalidArgumentError('sysctl key', key, 'expected dotted name such as net.ipv4.ip_forward');
  }
  const v = String(value);
  if (/[\n=]/.test(v)) throw new InvalidArgumentError('sysctl value', v, 'must not contain "=" or newlines');
  return ['netns', 'exec', ns, 'sysctl', '-qw', `${key}=${v}`];
}

/**
 * [command, ...argv] that runs `cmd args` inside `ns`. With `cgroup`, a shell
 * first writes its own pid into the cgroup and only then execs `ip netns exec`,
 * so the command never runs outside it. The shell runs before `ip netns exec`
 * because that remounts /sys for the namespace, hiding the cgroup v2 mount.
 * sh's exec, `ip netns exec` and the command share one pid.
 */
export function netnsExecArgv(ns: string, cmd: string, args: readonly string[], cgroup?: string): string[] {
  checkNetnsName(ns);
  const inNs = ['ip', 'netns', 'exec', ns, cmd, ...args];
  if (cgroup === undefined) return inNs;
  return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...inNs];
}
