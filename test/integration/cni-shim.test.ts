// The native ebbflow-cni shim relays env + stdin to the agent, which runs
// the plugin logic: the same answers as the node plugin, VERSION and the
// spec errors when the agent is away, and a working pod network.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultShimPath } from '../../src/agent/cni-install.js';
import { containerId, createCniLab, k8sArgs, runCni, type CniLab } from '../helpers/cni-harness.js';

const root = process.getuid?.() === 0;
if (!root) console.log('cni-shim: skipped, needs root for namespaces');
const SHIM = defaultShimPath();

describe.skipIf(!root)('ebbflow-cni native shim', () => {
  let lab: CniLab;

  beforeAll(async () => {
    if (!existsSync(SHIM)) throw new Error(`${SHIM} missing: run scripts/setup.sh (it compiles cni/shim/ebbflow-cni.c)`);
    lab = await createCniLab('shim', '10.234.0.0/24');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('answers VERSION and the agent-away errors itself', async () => {
    const v = await runCni({ bin: SHIM, command: 'VERSION', config: { cniVersion: '0.4.0' } });
    expect(v.code).toBe(0);
    expect(v.json).toMatchObject({ cniVersion: '0.4.0', supportedVersions: expect.arrayContaining(['1.0.0']) });
    const add = await runCni({ bin: SHIM, command: 'ADD', containerId: containerId(), netns: '/var/run/netns/none', ifname: 'eth0', config: lab.conf() });
    expect(add.code).toBe(1);
    expect(add.json).toMatchObject({ cniVersion: '1.0.0', code: 11 });
    expect(add.ms).toBeLessThan(1000);
    const st = await runCni({ bin: SHIM, command: 'STATUS', config: { ...lab.conf(), cniVersion: '1.1.0' } });
    expect(st.json).toMatchObject({ code: 50 });
  });

  it('wires a pod like the node plugin does, and forwards spec errors from the agent', async () => {
    await lab.startServer();
    const netns = await lab.addPod('p1');
    const id = containerId();
    const add = await runCni({ bin: SHIM, command: 'ADD', containerId: id, netns, ifname: 'eth0', args: k8sArgs('p1'), config: lab.conf() });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json.interfaces.some((i: { name: string }) => i.name === 'eth0')).toBe(true);
    expect(add.json.ips[0].address).toMatch(/^10\.234\.0\.\d+\/32$/);
    const node = await runCni({ command: 'CHECK', containerId: id, netns, ifname: 'eth0', args: k8sArgs('p1'), config: { ...lab.conf(), prevResult: add.json } });
    expect(node.code, node.stdout).toBe(0);
    // Decoded by the agent: the same spec codes as the node plugin gives.
    const viaNode = await runCni({ command: 'ADD', containerId: id, netns, ifname: 'eth0', config: { agentSocket: lab.socketPath, cniVersion: '1.0.0' } });
    const viaShim = await runCni({ bin: SHIM, command: 'ADD', containerId: id, netns, ifname: 'eth0', config: { agentSocket: lab.socketPath, cniVersion: '1.0.0' } });
    expect(viaShim.code).toBe(1);
    expect(viaShim.json).toEqual(viaNode.json);
    const garbage = await runCni({ bin: SHIM, command: 'ADD', containerId: id, netns, ifname: 'eth0', config: 'garbage' });
    expect(garbage.json).toMatchObject({ code: 6 });
    const del = await runCni({ bin: SHIM, command: 'DEL', containerId: id, netns, ifname: 'eth0', args: k8sArgs('p1'), config: lab.conf() });
    expect(del.code, del.stdout).toBe(0);
    expect(lab.server!.ipam.list()).toEqual([]);
  });
});
