import { describe, expect, it } from 'vitest';
import { checkIfName, checkNetnsName, hostIfName, MAX_IFNAME } from '../../src/netns/names.js';
import { checkCgroupPath } from '../../src/netns/cgroups.js';
import { NetnsError } from '../../src/netns/errors.js';

describe('netns names', () => {
  it('shortens long prefixes so host veth names fit IFNAMSIZ', () => {
    expect(hostIfName('bench', 0)).toBe('bench0');
    expect(hostIfName('ebbflow-lb-bench-very-long', 7)).toBe('ebbflowlbbench7');
    expect(hostIfName('ebbflow-lb-bench-very-long', 123)).toBe('ebbflowlbben123');
    for (let i = 0; i < 2000; i += 37) expect(hostIfName('x'.repeat(40), i).length).toBeLessThanOrEqual(MAX_IFNAME);
  });

  it('gives distinct names to distinct pod indexes', () => {
    const names = new Set(Array.from({ length: 300 }, (_, i) => hostIfName('a-very-long-topology-prefix', i)));
    expect(names.size).toBe(300);
  });

  it('rejects unsafe namespace and interface names with a stable code', () => {
    expect(checkNetnsName('ebb-node')).toBe('ebb-node');
    for (const bad of ['', '../etc', 'a/b', '.hidden', 'x'.repeat(65), 'a b']) {
      expect(() => checkNetnsName(bad)).toThrowError(NetnsError);
    }
    expect(() => checkIfName('sixteen-chars-xx')).toThrow(/interface name/);
    try {
      checkIfName('a;b');
      expect.unreachable();
    } catch (err) {
      expect((err as NetnsError).code).toBe('NETNS_INVALID_ARGUMENT');
    }
  });

  it('refuses the cgroup v2 root and paths outside it', () => {
    expect(checkCgroupPath('/sys/fs/cgroup/unified/ebbflow-x')).toBe('/sys/fs/cgroup/unified/ebbflow-x');
    expect(checkCgroupPath('/sys/fs/cgroup/unified/ebbflow/pods/a')).toBe('/sys/fs/cgroup/unified/ebbflow/pods/a');
    for (const bad of [
      '/sys/fs/cgroup/unified',
      '/sys/fs/cgroup/unified/',
      '/sys/fs/cgroup/unified/../cpu',
      '/sys/fs/cgroup/cpu/x',
      'sys/fs/cgroup/unified/x',
      '/sys/fs/cgroup/unified/cgroup.procs',
    ]) {
      expect(() => checkCgroupPath(bad), bad).toThrowError(expect.objectContaining({ code: 'NETNS_CGROUP_REFUSED' }));
    }
  });
});
