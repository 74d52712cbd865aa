// CNI env/config parsing, result shaping per version and chaining, and one
// plugin invocation end to end with a fake agent.
import { describe, expect, it } from 'vitest';
import {
  CniError, mergeResults, parseCniArgs, parseCniEnv, parseNetConf, resultForVersion, type CniResult,
} from '../../src/agent/cni-spec.js';
import type { CniWireRequest, CniWireResponse } from '../../src/agent/cni-wire.js';
import { runPlugin } from '../../cni/plugin.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err.code;
    throw err;
  }
  return 0;
};

const ours: CniResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'ebfabc', mac: '02:00:00:00:00:01' }, { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x' }],
  ips: [{ address: '10.1.0.5/32', gateway: '169.254.1.1', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  dns: {},
};

describe('CNI parsing', () => {
  it('reads containerd-style CNI_ARGS and refuses unknown keys unless IgnoreUnknown', () => {
    expect(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u;FOO=bar')).toEqual({ podNamespace: 'ns', podName: 'p', podUid: 'u' });
    expect(parseCniArgs('')).toEqual({});
    expect(codeOf(() => parseCniArgs('FOO=bar'))).toBe(2);
    expect(codeOf(() => parseCniArgs('K8S_POD_NAME'))).toBe(4);
  });

  it('requires per command only what that command needs', () => {
    const base = { CNI_CONTAINERID: 'abc', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0' };
    expect(parseCniEnv({ CNI_COMMAND: 'ADD', ...base, CNI_PATH: '/a:/b' })).toMatchObject({ command: 'ADD', path: ['/a', '/b'] });
    expect(parseCniEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'abc', CNI_IFNAME: 'eth0' }).netns).toBe('');
    expect(parseCniEnv({ CNI_COMMAND: 'VERSION' }).command).toBe('VERSION');
    expect(parseCniEnv({ CNI_COMMAND: 'GC' }).command).toBe('GC');
    expect(codeOf(() => parseCniEnv({ CNI_COMMAND: 'ADD', ...base, CNI_NETNS: '' }))).toBe(4);
    expect(codeOf(() => parseCniEnv({ CNI_COMMAND: 'CHECK', ...base, CNI_IFNAME: '' }))).toBe(4);
    expect(codeOf(() => parseCniEnv({ CNI_COMMAND: 'ADD', ...base, CNI_NETNS: 'relative' }))).toBe(4);
    expect(codeOf(() => parseCniEnv({ CNI_COMMAND: 'ADD', ...base, CNI_IFNAME: 'a/b' }))).toBe(4);
    expect(codeOf(() => parseCniEnv({ ...base }))).toBe(4);
  });

  it('decodes the network config with our fields, prevResult and GC attachments', () => {
    const c = parseNetConf(JSON.stringify({
      cniVersion: '1.1.0', name: 'ebbflow', type: 'ebbflow-cni', agentSocket: '/run/x.sock', mtu: 1450, prevResult: ours,
      'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
    }));
    expect(c).toMatchObject({ agentSocket: '/run/x.sock', mtu: 1450, validAttachments: [{ containerID: 'a', ifname: 'eth0' }] });
    expect(c.prevResult).toEqual(ours);
    expect(codeOf(() => parseNetConf('nope'))).toBe(6);
    expect(codeOf(() => parseNetConf('null'))).toBe(6);
    expect(codeOf(() => parseNetConf('{"name":"x","type":"t"}'))).toBe(7);
    expect(codeOf(() => parseNetConf('{"cniVersion":"1.0.0","name":"-x","type":"t"}'))).toBe(7);
    expect(codeOf(() => parseNetConf('{"cniVersion":"1.0.0","name":"x","type":"t","mtu":10}'))).toBe(7);
    expect(codeOf(() => parseNetConf('{"cniVersion":"9.9.9","name":"x","type":"t"}'))).toBe(1);
  });

  it('labels ips with a version before 1.0.0 and not after', () => {
    expect(resultForVersion(ours, '0.4.0').ips).toEqual([{ address: '10.1.0.5/32', gateway: '169.254.1.1', interface: 1, version: '4' }]);
    expect(resultForVersion(ours, '0.4.0').cniVersion).toBe('0.4.0');
    expect(resultForVersion({ ...ours, ips: [{ ...ours.ips![0]!, version: '4' }] }, '1.0.0').ips![0]).not.toHaveProperty('version');
  });

  it('appends to a chained prevResult, shifting interface indexes', () => {
    const prev: CniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'lo0' }], ips: [{ address: '192.168.0.2/24', interface: 0 }], dns: { nameservers: ['1.1.1.1'] } };
    const m = mergeResults(prev, ours);
    expect(m.interfaces!.map((i) => i.name)).toEqual(['lo0', 'ebfabc', 'eth0']);
    expect(m.ips!.map((i) => i.interface)).toEqual([0, 2]);
    expect(m.dns).toEqual({ nameservers: ['1.1.1.1'] });
  });
});

describe('runPlugin with a fake agent', () => {
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p' };
  const conf = { cniVersion: '0.3.1', name: 'ebbflow', type: 'ebbflow-cni', agentSocket: '/run/a.sock', mtu: 1400 };

  it('forwards ADD with pod args and prints the result in the config version', async () => {
    const seen: { socket: string; req: CniWireRequest }[] = [];
    const out = await runPlugin({
      env, stdin: JSON.stringify(conf),
      call: async (socket, req): Promise<CniWireResponse> => { seen.push({ socket, req }); return { result: ours }; },
    });
    expect(out.exitCode).toBe(0);
    expect(seen).toEqual([{ socket: '/run/a.sock', req: expect.objectContaining({ command: 'ADD', containerId: 'abc', mtu: 1400, network: 'ebbflow', args: { podName: 'p' } }) }]);
    const printed = JSON.parse(out.stdout);
    expect(printed.cniVersion).toBe('0.3.1');
    expect(printed.ips[0].version).toBe('4');
  });

  it('turns an agent error into spec error JSON with the config version; the default socket is per node', async () => {
    let socket = '';
    const out = await runPlugin({
      env, stdin: JSON.stringify({ ...conf, agentSocket: undefined }), node: 'n1',
      call: async (s) => { socket = s; return { error: { code: 102, msg: 'pod CIDR exhausted' } }; },
    });
    expect(socket).toBe('/run/ebbflow/n1/cni.sock');
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '0.3.1', code: 102, msg: 'pod CIDR exhausted' });
  });

  it('DEL prints nothing on success; a throwing transport still yields spec JSON', async () => {
    const del = await runPlugin({ env: { ...env, CNI_COMMAND: 'DEL' }, stdin: JSON.stringify(conf), call: async () => ({}) });
    expect(del).toMatchObject({ stdout: '', exitCode: 0 });
    const boom = await runPlugin({ env, stdin: JSON.stringify(conf), call: async () => { throw new Error('boom'); } });
    expect(boom.exitCode).toBe(1);
    expect(JSON.parse(boom.stdout)).toMatchObject({ code: 100, details: 'boom' });
  });
});
