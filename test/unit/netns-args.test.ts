import { describe, expect, it } from 'vitest';
import {
  addressArgs,
  checkCidr,
  neighborArgs,
  netnsExecArgv,
  routeArgs,
  sysctlArgs,
  vethPairArgs,
} from '../../src/netns/args.js';
import { CommandFailedError } from '../../src/netns/errors.js';

describe('iproute2 argument building', () => {
  it('creates the veth in nsA with its peer directly in nsB', () => {
    expect(vethPairArgs({ nsA: 'n', ifA: 'h0', nsB: 'p', ifB: 'eth0' })).toEqual(
      ['-n', 'n', 'link', 'add', 'h0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'p'],
    );
    expect(vethPairArgs({ nsA: 'n', ifA: 'h0', nsB: 'p', ifB: 'eth0', mtu: 1450 })).toEqual(
      ['-n', 'n', 'link', 'add', 'h0', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', '1450', 'netns', 'p'],
    );
    expect(() => vethPairArgs({ nsA: 'n', ifA: 'h0', nsB: 'p', ifB: 'eth0', mtu: 10 })).toThrow(/MTU/);
  });

  it('builds routes with via, dev, src, scope and onlink', () => {
    expect(routeArgs('p', 'default', { via: '169.254.1.1', dev: 'eth0', onlink: true })).toEqual(
      ['-n', 'p', 'route', 'replace', 'default', 'via', '169.254.1.1', 'dev', 'eth0', 'onlink'],
    );
    expect(routeArgs('n', '10.0.0.5', { dev: 'h0', src: '10.0.0.1', scope: 'link' })).toEqual(
      ['-n', 'n', 'route', 'replace', '10.0.0.5/32', 'dev', 'h0', 'src', '10.0.0.1', 'scope', 'link'],
    );
    expect(() => routeArgs('n', '10.0.0.0/8', {})).toThrow(/needs via or dev/);
    expect(() => routeArgs('n', '10.0.0.0/33', { dev: 'h0' })).toThrow(/prefix length/);
  });

  it('validates addresses, neighbors and sysctls', () => {
    expect(addressArgs('p', 'eth0', '10.1.2.3')).toEqual(['-n', 'p', 'addr', 'add', '10.1.2.3/32', 'dev', 'eth0']);
    expect(checkCidr('172.30.0.0/16')).toBe('172.30.0.0/16');
    expect(() => checkCidr('256.1.1.1/32')).toThrow(/IPv4/);
    expect(neighborArgs('n', 'h0', '10.0.0.1', 'AA:bb:cc:dd:ee:ff')).toEqual(
      ['-n', 'n', 'neigh', 'replace', '10.0.0.1', 'lladdr', 'aa:bb:cc:dd:ee:ff', 'dev', 'h0', 'nud', 'permanent'],
    );
    expect(() => neighborArgs('n', 'h0', '10.0.0.1', 'zz')).toThrow(/MAC/);
    expect(sysctlArgs('n', 'net.ipv4.ip_local_port_range', '1024 65535')).toEqual(
      ['netns', 'exec', 'n', 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535'],
    );
    expect(() => sysctlArgs('n', 'kernel.x;rm', 1)).toThrow(/sysctl key/);
  });

  it('joins the cgroup before entering the namespace, passing the path and argv as positional parameters', () => {
    expect(netnsExecArgv('p', 'sleep', ['1'])).toEqual(['ip', 'netns', 'exec', 'p', 'sleep', '1']);
    const argv = netnsExecArgv('p', 'sleep', ['1'], '/sys/fs/cgroup/unified/ebb x');
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv[2]).toBe('echo $$ > "$0/cgroup.procs" && exec "$@"');
    expect(argv.slice(3)).toEqual(['/sys/fs/cgroup/unified/ebb x', 'ip', 'netns', 'exec', 'p', 'sleep', '1']);
  });

  it('reports failed commands with the command line, exit code and stderr', () => {
    const err = new CommandFailedError('ip', ['netns', 'add', 'x'], 1, null, 'File exists\n');
    expect(err.code).toBe('NETNS_COMMAND_FAILED');
    expect(err.message).toBe('ip netns add x failed (exit code 1): File exists');
    expect(err.exitCode).toBe(1);
  });
});
