// ebbflow-cni exec'd like a runtime does, against a real cni-server serving
// a node namespace: ADD wires a pod (veth, /32, routes, tc programs through
// the endpoint hook) so pods talk through the node; repeated ADD, CHECK,
// DEL (twice, without netns), GC, STATUS, concurrency and IPAM persistence
// across a server restart.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniDataplaneHooks, type CniDataplaneHooks } from '../../src/agent/cni-endpoints.js';
import type { CniEndpoint } from '../../src/agent/cni-server.js';
import { hostIfname } from '../../src/agent/cni-pod-network.js';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import { probeScript } from '../../src/demo/probes.js';
import { run } from '../../src/netns/exec.js';
import { spawnInNetns } from '../../src/netns/index.js';
import { containerId, createCniLab, k8sArgs, requirePluginBuilt, runCni, type CniLab } from '../helpers/cni-harness.js';

const root = process.getuid?.() === 0;
if (!root) console.log('cni-plugin: skipped, needs root for namespaces, netlink and BPF');

const inCidr = (addr: string) => /^10\.231\.0\.(\d+)\/32$/.test(addr);

describe.skipIf(!root)('ebbflow-cni with the agent', () => {
  let lab: CniLab;
  let dp: Dataplane;
  const pinRoot = `/sys/fs/bpf/ebbflow/test-cni-${randomBytes(3).toString('hex')}`;
  let failHook = false;
  let hooks: CniDataplaneHooks;
  const added: CniEndpoint[] = [];
  const removed: CniEndpoint[] = [];

  const add = async (pod: string, id: string, netns: string) =>
    runCni({ command: 'ADD', containerId: id, netns, ifname: 'eth0', args: k8sArgs(pod), config: lab.conf() });

  beforeAll(async () => {
    requirePluginBuilt();
    lab = await createCniLab('plug');
    dp = await loadDataplane({ node: 'cni', pinRoot });
    hooks = cniDataplaneHooks({ dataplane: dp, hostNetns: lab.nodeNsPath, podCIDR: lab.podCIDR });
    await lab.startServer({
      onEndpointAdded: async (ep) => {
        if (failHook) throw new Error('dataplane says no');
        await hooks.onEndpointAdded(ep);
        added.push(ep);
      },
      onEndpointRemoved: async (ep) => {
        await hooks.onEndpointRemoved(ep);
        removed.push(ep);
      },
    });
  }, 60_000);

  afterAll(async () => {
    await lab?.cleanup();
    dp?.destroy();
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
  });

  it('ADD wires the pod, answers with eth0 and its IP, and pods talk through the node', async () => {
    const nsA = await lab.addPod('a');
    const nsB = await lab.addPod('b');
    const idA = containerId();
    const idB = containerId();
    const ra = await add('a', idA, nsA);
    expect(ra.stderr).toBe('');
    expect(ra.code, ra.stdout).toBe(0);
    const rb = await add('b', idB, nsB);
    expect(rb.code, rb.stdout).toBe(0);
    for (const [r, ns] of [[ra, nsA], [rb, nsB]] as const) {
      expect(r.json.cniVersion).toBe('1.0.0');
      const ip = r.json.ips[0];
      expect(inCidr(ip.address)).toBe(true);
      const iface = r.json.interfaces[ip.interface];
      expect(iface).toMatchObject({ name: 'eth0', sandbox: ns });
      expect(iface.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
    expect(ra.json.ips[0].address).not.toBe(rb.json.ips[0].address);

    // The hook saw the pod and the tc programs sit on its host veth.
    const epA = added.find((e) => e.containerId === idA)!;
    expect(epA).toMatchObject({ ifname: 'eth0', netns: nsA, podNamespace: 'default', podName: 'a', hostIfname: hostIfname(idA, 'eth0') });
    expect(`${epA.ip}/32`).toBe(ra.json.ips[0].address);
    expect(await dp.endpointAttached({ netns: lab.nodeNsPath, ifname: epA.hostIfname })).toBe(true);
    expect(hooks.local()).toEqual([
      { pod: 'default/a', ip: epA.ip, ifindex: epA.hostIfindex, endpointId: Number(epA.ip.split('.')[3]) },
      expect.objectContaining({ pod: 'default/b' }),
    ]);

    const ipB = rb.json.ips[0].address.split('/')[0];
    const server = spawnInNetns(`${lab.prefix}-b`, process.execPath, [probeScript('server'), 'b', '8080']);
    try {
      const end = Date.now() + 10_000;
      while (!server.stdout.includes('ready') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const client = spawnInNetns(`${lab.prefix}-a`, process.execPath, [probeScript('client'), 'tcp', ipB, '8080', '3', '2000']);
      const st = await client.wait();
      const res = JSON.parse(st.stdout.trim().split('\n').pop()!);
      expect(res.ok).toBe(3);
      expect(res.backends).toEqual({ b: 3 });
    } finally {
      server.kill('SIGKILL');
      await server.wait();
    }

    // A repeated ADD of the same container answers with the same result; with another netns it is refused.
    const again = await add('a', idA, nsA);
    expect(again.code).toBe(0);
    expect(again.json).toEqual(ra.json);
    const conflict = await add('a', idA, nsB);
    expect(conflict.json).toMatchObject({ code: 101 });
    expect(conflict.json.details).toContain(nsA);
    // A failing endpoint hook fails the ADD and leaves neither veth nor address behind.
    failHook = true;
    const nsH = await lab.addPod('h');
    const idH = containerId();
    const hooked = await add('h', idH, nsH);
    failHook = false;
    expect(hooked.json).toMatchObject({ code: 100, details: expect.stringContaining('dataplane says no') });
    expect(lab.server!.ipam.get(idH, 'eth0')).toBeUndefined();
    expect((await run('ip', ['-n', lab.nodeNs, '-o', 'link'])).stdout).not.toContain(hostIfname(idH, 'eth0'));
    expect((await run('ip', ['-n', `${lab.prefix}-h`, '-o', 'link'])).stdout).not.toContain('eth0');
    // ADD into a netns that does not exist fails cleanly and leaks no address.
    const before = lab.server!.ipam.list().length;
    const noNs = await add('z', containerId(), `/var/run/netns/${lab.prefix}-absent`);
    expect(noNs.json).toMatchObject({ code: 4 });
    expect(lab.server!.ipam.list()).toHaveLength(before);

    // CHECK passes, then fails once the host veth is gone; DEL cleans up, twice is fine.
    const check = await runCni({ command: 'CHECK', containerId: idA, netns: nsA, ifname: 'eth0', config: lab.conf({ prevResult: ra.json }) });
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toBe('');
    const stale = await runCni({ command: 'CHECK', containerId: idA, netns: nsA, ifname: 'eth0', config: lab.conf({ prevResult: rb.json }) });
    expect(stale.json).toMatchObject({ code: 103 });
    await run('ip', ['-n', lab.nodeNs, 'link', 'del', epA.hostIfname]);
    const bad = await runCni({ command: 'CHECK', containerId: idA, netns: nsA, ifname: 'eth0', config: lab.conf({ prevResult: ra.json }) });
    expect(bad.code).not.toBe(0);
    expect(bad.json).toMatchObject({ cniVersion: '1.0.0', code: 103 });
    expect(bad.json.details).toContain(epA.hostIfname);

    for (let i = 0; i < 2; i++) {
      const del = await runCni({ command: 'DEL', containerId: idB, netns: nsB, ifname: 'eth0', config: lab.conf({ prevResult: rb.json }) });
      expect(del.code, del.stdout).toBe(0);
    }
    expect(removed.some((e) => e.containerId === idB)).toBe(true);
    expect(hooks.local().map((l) => l.pod)).toEqual(['default/a']);
    const links = await run('ip', ['-n', lab.nodeNs, '-o', 'link']);
    expect(links.stdout).not.toContain(hostIfname(idB, 'eth0'));
    const routes = await run('ip', ['-n', lab.nodeNs, 'route']);
    expect(routes.stdout).not.toContain(ipB);
    expect(lab.server!.ipam.get(idB, 'eth0')).toBeUndefined();

    // DEL after the runtime removed the netns (and with no CNI_NETNS at all).
    await run('ip', ['netns', 'del', `${lab.prefix}-a`]);
    const delGone = await runCni({ command: 'DEL', containerId: idA, netns: nsA, ifname: 'eth0', config: lab.conf() });
    expect(delGone.code, delGone.stdout).toBe(0);
    const delNoNs = await runCni({ command: 'DEL', containerId: idA, ifname: 'eth0', config: lab.conf() });
    expect(delNoNs.code, delNoNs.stdout).toBe(0);
    // Unknown container: DEL succeeds, CHECK says unknown.
    const unknown = containerId();
    expect((await runCni({ command: 'DEL', containerId: unknown, ifname: 'eth0', config: lab.conf() })).code).toBe(0);
    const chk = await runCni({ command: 'CHECK', containerId: unknown, netns: nsB, ifname: 'eth0', config: lab.conf() });
    expect(chk.json).toMatchObject({ code: 3 });
    expect(lab.server!.ipam.list()).toEqual([]);
  });

  it('10 concurrent ADDs for different pods all succeed with distinct addresses', async () => {
    const pods = await Promise.all(Array.from({ length: 10 }, (_, i) => lab.addPod(`c${i}`)));
    const ids = pods.map(() => containerId());
    const results = await Promise.all(pods.map((ns, i) => add(`c${i}`, ids[i]!, ns)));
    for (const r of results) expect(r.code, r.stdout).toBe(0);
    const ips = results.map((r) => r.json.ips[0].address);
    expect(new Set(ips).size).toBe(10);
    expect(ips.every(inCidr)).toBe(true);
    const dels = await Promise.all(pods.map((ns, i) => runCni({ command: 'DEL', containerId: ids[i], netns: ns, ifname: 'eth0', config: lab.conf() })));
    for (const d of dels) expect(d.code, d.stdout).toBe(0);
    expect(lab.server!.ipam.list().filter((a) => ids.includes(a.containerId))).toEqual([]);
  });

  it('keeps allocations across an agent restart: re-ADD of a known pod gets its address back, DELs leak nothing', async () => {
    const ns1 = await lab.addPod('r1');
    const ns2 = await lab.addPod('r2');
    const [id1, id2] = [containerId(), containerId()];
    const r1 = await add('r1', id1, ns1);
    const r2 = await add('r2', id2, ns2);
    expect(r1.code).toBe(0);
    expect(r2.code).toBe(0);
    await lab.stopServer();
    // While the agent is down, calls fail fast with "try again later".
    const down = await add('r1', id1, ns1);
    expect(down.json).toMatchObject({ code: 11 });
    expect(down.ms).toBeLessThan(2000);
    // The restarted agent lists what it wired before; fresh hooks re-register it with the dataplane.
    hooks = cniDataplaneHooks({ dataplane: dp, hostNetns: lab.nodeNsPath, podCIDR: lab.podCIDR });
    const server = await lab.startServer({ onEndpointAdded: (ep) => hooks.onEndpointAdded(ep), onEndpointRemoved: (ep) => hooks.onEndpointRemoved(ep) });
    const listed = await server.listEndpoints();
    expect(listed.map((e) => e.containerId).sort()).toEqual([id1, id2].sort());
    await hooks.restore(listed);
    expect(hooks.local().map((l) => [l.pod, l.ip])).toEqual([['default/r1', r1.json.ips[0].address.split('/')[0]], ['default/r2', r2.json.ips[0].address.split('/')[0]]]);
    const again = await add('r1', id1, ns1);
    expect(again.code, again.stdout).toBe(0);
    expect(again.json.ips[0].address).toBe(r1.json.ips[0].address);
    // A new pod does not take an address still held by a pod from before the restart.
    const ns3 = await lab.addPod('r3');
    const id3 = containerId();
    const r3 = await add('r3', id3, ns3);
    expect([r1.json.ips[0].address, r2.json.ips[0].address]).not.toContain(r3.json.ips[0].address);
    for (const [id, ns] of [[id1, ns1], [id2, ns2], [id3, ns3]] as const) {
      expect((await runCni({ command: 'DEL', containerId: id, netns: ns, ifname: 'eth0', config: lab.conf() })).code).toBe(0);
    }
    expect(lab.server!.ipam.list().filter((a) => [id1, id2, id3].includes(a.containerId))).toEqual([]);
    expect(hooks.local()).toEqual([]);
  });

  it('GC (1.1) removes attachments the runtime no longer lists and orphan veths; STATUS answers', async () => {
    const nss = await Promise.all(['g1', 'g2', 'g3'].map((p) => lab.addPod(p)));
    const ids = nss.map(() => containerId());
    for (const [i, ns] of nss.entries()) expect((await add(`g${i + 1}`, ids[i]!, ns)).code).toBe(0);
    // An orphan of ours (an ADD cut short by a crash) with no allocation behind it.
    await run('ip', ['-n', lab.nodeNs, 'link', 'add', 'ebf0123456789a', 'type', 'veth', 'peer', 'name', 'orphanpeer']);
    const gc = await runCni({
      command: 'GC',
      config: lab.conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: ids[0], ifname: 'eth0' }] }),
    });
    expect(gc.code, gc.stdout).toBe(0);
    // GC keeps only what the runtime lists (also leftovers of earlier tests go).
    expect(lab.server!.ipam.list().map((a) => a.containerId)).toEqual([ids[0]]);
    const links = (await run('ip', ['-n', lab.nodeNs, '-o', 'link'])).stdout;
    expect(links).toContain(hostIfname(ids[0]!, 'eth0'));
    expect(links).not.toContain(hostIfname(ids[1]!, 'eth0'));
    expect(links).not.toContain(hostIfname(ids[2]!, 'eth0'));
    expect(links).not.toContain('ebf0123456789a');
    const status = await runCni({ command: 'STATUS', config: lab.conf({ cniVersion: '1.1.0' }) });
    expect(status.code, status.stdout).toBe(0);
    const statusOld = await runCni({ command: 'STATUS', config: lab.conf() });
    expect(statusOld.json).toMatchObject({ code: 1 });
    expect((await runCni({ command: 'DEL', containerId: ids[0], netns: nss[0], ifname: 'eth0', config: lab.conf() })).code).toBe(0);
  });
});
