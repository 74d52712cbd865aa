// How the built plugin fails, as a runtime sees it: spec error JSON on
// stdout with the right code, a non-zero exit, no stack trace, and a fast
// "try again later" when no agent listens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePluginBuilt, runCni } from '../helpers/cni-harness.js';

describe('ebbflow-cni errors', () => {
  let dir: string;
  let conf: Record<string, unknown>;
  const id = 'c0ffee';
  const env = { containerId: id, netns: '/var/run/netns/ebft-cni-err-none', ifname: 'eth0' };

  beforeAll(() => {
    requirePluginBuilt();
    dir = mkdtempSync(join(tmpdir(), 'ebf-cni-err-'));
    conf = { cniVersion: '1.0.0', name: 'ebbflow', type: 'ebbflow-cni', agentSocket: join(dir, 'absent.sock') };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const expectError = (r: { code: number | null; stdout: string; stderr: string; json: any }, code: number) => {
    expect(r.code).not.toBe(0);
    expect(r.json, r.stdout).toMatchObject({ code, msg: expect.any(String) });
    expect(typeof r.json.cniVersion).toBe('string');
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  };

  it('VERSION lists the supported versions, also with no config', async () => {
    const r = await runCni({ command: 'VERSION', config: { cniVersion: '1.0.0' } });
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    const empty = await runCni({ command: 'VERSION', config: '' });
    expect(empty.code).toBe(0);
    expect(empty.json.supportedVersions).toContain('1.0.0');
  });

  it('undecodable config is code 6; a config missing fields or with bad ones is code 7', async () => {
    expectError(await runCni({ command: 'ADD', ...env, config: '{not json' }), 6);
    expectError(await runCni({ command: 'ADD', ...env, config: '[1,2]' }), 6);
    expectError(await runCni({ command: 'ADD', ...env, config: { cniVersion: '1.0.0', type: 'ebbflow-cni' } }), 7);
    expectError(await runCni({ command: 'ADD', ...env, config: { ...conf, mtu: 'big' } }), 7);
    expectError(await runCni({ command: 'ADD', ...env, config: { ...conf, agentSocket: 'relative.sock' } }), 7);
  });

  it('missing or malformed environment is code 4; unknown CNI_ARGS without IgnoreUnknown is code 2', async () => {
    expectError(await runCni({ command: 'ADD', netns: env.netns, ifname: 'eth0', config: conf }), 4);
    expectError(await runCni({ command: 'ADD', containerId: id, ifname: 'eth0', config: conf }), 4);
    expectError(await runCni({ command: 'ADD', ...env, ifname: 'this-name-is-too-long', config: conf }), 4);
    expectError(await runCni({ command: 'ADD', ...env, containerId: '../etc', config: conf }), 4);
    expectError(await runCni({ command: 'FROB', ...env, config: conf }), 4);
    expectError(await runCni({ command: 'ADD', ...env, args: 'NOEQUALS', config: conf }), 4);
    expectError(await runCni({ command: 'ADD', ...env, args: 'FOO=bar', config: conf }), 2);
  });

  it('an unsupported cniVersion is code 1, echoed in the error; CHECK before 0.4.0 and GC before 1.1.0 too', async () => {
    const r = await runCni({ command: 'ADD', ...env, config: { ...conf, cniVersion: '0.2.0' } });
    expectError(r, 1);
    expect(r.json.details).toContain('0.2.0');
    expectError(await runCni({ command: 'CHECK', ...env, config: { ...conf, cniVersion: '0.3.1' } }), 1);
    expectError(await runCni({ command: 'GC', config: { ...conf, cniVersion: '1.0.0' } }), 1);
  });

  it('no agent: ADD and DEL say try again later (11) fast; STATUS says not available (50)', async () => {
    const add = await runCni({ command: 'ADD', ...env, config: conf });
    expectError(add, 11);
    expect(add.json.details).toContain('absent.sock');
    expect(add.ms).toBeLessThan(2000);
    expectError(await runCni({ command: 'DEL', ...env, config: conf }), 11);
    expectError(await runCni({ command: 'STATUS', config: { ...conf, cniVersion: '1.1.0' } }), 50);
  });
});
