// Installing the plugin wrapper and the conflist: content, modes, and no
// rewrite when nothing changed.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFLIST_NAME, installCni, installPlugin, wrapperScript } from '../../src/agent/cni-install.js';

describe('CNI install', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ebf-cni-inst-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an executable wrapper that execs node on the absolute main.js', () => {
    const r = installPlugin(join(dir, 'bin'), { nodePath: '/usr/bin/node', pluginJs: '/opt/ebbflow/dist/cni/main.js' });
    expect(r.changed).toBe(true);
    expect(readFileSync(r.path, 'utf8')).toBe(wrapperScript('/usr/bin/node', '/opt/ebbflow/dist/cni/main.js'));
    expect(readFileSync(r.path, 'utf8')).toMatch(/^#!\/bin\/sh\n[\s\S]*exec '\/usr\/bin\/node' '\/opt\/ebbflow\/dist\/cni\/main.js' "\$@"\n$/);
    expect(statSync(r.path).mode & 0o777).toBe(0o755);
  });

  it('writes the conflist first in the conf dir and rewrites nothing unchanged', () => {
    const cfg = { binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), agentSocket: '/run/ebbflow/n1/cni.sock', mtu: 1450, nodePath: '/usr/bin/node', pluginJs: '/x/main.js' };
    const first = installCni(cfg);
    expect(first.conflistPath).toBe(join(dir, 'net.d', CONFLIST_NAME));
    expect(first.changed).toHaveLength(2);
    const list = JSON.parse(readFileSync(first.conflistPath, 'utf8'));
    expect(list).toEqual({
      cniVersion: '1.0.0',
      name: 'ebbflow',
      plugins: [
        { type: 'ebbflow-cni', agentSocket: '/run/ebbflow/n1/cni.sock', mtu: 1450 },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    });
    const mtime = statSync(first.conflistPath).mtimeMs;
    expect(installCni(cfg).changed).toEqual([]);
    expect(statSync(first.conflistPath).mtimeMs).toBe(mtime);
    expect(installCni({ ...cfg, mtu: 1400 }).changed).toEqual([first.conflistPath]);
  });
});
