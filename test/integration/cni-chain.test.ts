// The conflist chain as libcni runs it, all inside the node namespace:
// the installed ebbflow-cni wrapper first, then Debian's portmap and
// bandwidth with our result as prevResult; DEL in reverse order. portmap's
// iptables rules and bandwidth's qdiscs land in the node namespace only.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCni } from '../../src/agent/cni-install.js';
import { probeScript } from '../../src/demo/probes.js';
import { run } from '../../src/netns/exec.js';
import { spawnInNetns } from '../../src/netns/index.js';
import { containerId, createCniLab, k8sArgs, PLUGIN_JS, requirePluginBuilt, runCni, type CniLab } from '../helpers/cni-harness.js';

const root = process.getuid?.() === 0;
if (!root) console.log('cni-chain: skipped, needs root for namespaces and iptables');

const NODE_IP = '10.232.255.254';

describe.skipIf(!root)('ebbflow-cni chained with portmap and bandwidth', () => {
  let lab: CniLab;
  let pluginPath: string;
  let conflist: { cniVersion: string; name: string; plugins: Record<string, unknown>[] };

  beforeAll(async () => {
    requirePluginBuilt();
    lab = await createCniLab('chain', '10.232.0.0/24');
    await lab.startServer();
    const inst = installCni({ binDir: join(lab.dir, 'bin'), confDir: join(lab.dir, 'net.d'), agentSocket: lab.socketPath, pluginJs: PLUGIN_JS });
    pluginPath = inst.pluginPath;
    conflist = JSON.parse((await import('node:fs')).readFileSync(inst.conflistPath, 'utf8'));
    await run('ip', ['-n', lab.nodeNs, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
  }, 60_000);

  afterAll(async () => {
    await lab?.cleanup();
  });

  /** Plugin config i of the conflist as libcni passes it: name and cniVersion of the list, runtimeConfig, prevResult. */
  const pluginConf = (i: number, extra: Record<string, unknown>) => ({ cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[i], ...extra });
  const binOf = (i: number) => (i === 0 ? pluginPath : `/usr/lib/cni/${conflist.plugins[i]!.type as string}`);

  it('portmap and bandwidth accept our result; hostPort traffic reaches the pod; DEL in reverse removes their state', async () => {
    const netns = await lab.addPod('p');
    const id = containerId();
    const runtimeConfig = [
      {},
      { portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }] },
      { bandwidth: { ingressRate: 100_000_000, ingressBurst: 1_000_000, egressRate: 100_000_000, egressBurst: 1_000_000 } },
    ];
    const base = { containerId: id, netns, ifname: 'eth0', args: k8sArgs('p'), inNetns: lab.nodeNs };
    let prev: unknown;
    const results: unknown[] = [];
    for (let i = 0; i < conflist.plugins.length; i++) {
      const r = await runCni({ ...base, command: 'ADD', bin: binOf(i), config: pluginConf(i, { runtimeConfig: runtimeConfig[i], ...(prev ? { prevResult: prev } : {}) }) });
      expect(r.code, `${binOf(i)}: ${r.stdout} ${r.stderr}`).toBe(0);
      prev = r.json;
      results.push(r.json);
    }
    // portmap passes our result through; bandwidth appends its ifb device.
    expect(results[1]).toEqual(results[0]);
    const final = results[2] as { interfaces: { name: string }[] };
    expect(final).toEqual({ ...(results[0] as object), interfaces: [...(results[0] as typeof final).interfaces, expect.objectContaining({ name: expect.stringMatching(/^bwp/) })] });
    const ours = results[0] as { ips: { address: string }[]; interfaces: { name: string }[] };
    const podIp = ours.ips[0]!.address.split('/')[0]!;
    const hostIf = ours.interfaces[0]!.name;

    const nat = (await run('ip', ['netns', 'exec', lab.nodeNs, 'iptables', '-t', 'nat', '-S'])).stdout;
    expect(nat).toContain('CNI-HOSTPORT-DNAT');
    expect(nat).toContain(`${podIp}:8080`);
    const qdisc = (await run('tc', ['-n', lab.nodeNs, 'qdisc', 'show', 'dev', hostIf])).stdout;
    expect(qdisc).toMatch(/tbf|ingress/);

    // The node reaches the pod through the hostPort DNAT rule portmap made from our result.
    const server = spawnInNetns(`${lab.prefix}-p`, process.execPath, [probeScript('server'), 'p', '8080']);
    try {
      const end = Date.now() + 10_000;
      while (!server.stdout.includes('ready') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const client = spawnInNetns(lab.nodeNs, process.execPath, [probeScript('client'), 'tcp', NODE_IP, '18080', '2', '2000']);
      const res = JSON.parse((await client.wait()).stdout.trim().split('\n').pop()!);
      expect(res.ok).toBe(2);
    } finally {
      server.kill('SIGKILL');
      await server.wait();
    }

    for (let i = conflist.plugins.length - 1; i >= 0; i--) {
      const r = await runCni({ ...base, command: 'DEL', bin: binOf(i), config: pluginConf(i, { runtimeConfig: runtimeConfig[i], prevResult: final }) });
      expect(r.code, `${binOf(i)} DEL: ${r.stdout} ${r.stderr}`).toBe(0);
    }
    const natAfter = (await run('ip', ['netns', 'exec', lab.nodeNs, 'iptables', '-t', 'nat', '-S'])).stdout;
    expect(natAfter).not.toContain(`${podIp}:8080`);
    const links = (await run('ip', ['-n', lab.nodeNs, '-o', 'link'])).stdout;
    expect(links).not.toContain(hostIf);
    expect(links).not.toContain(final.interfaces[2]!.name);
    expect(lab.server!.ipam.list()).toEqual([]);
  });
});
