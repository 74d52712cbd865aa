// Real namespaces, veths and a cgroup v2 directory; needs root.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CGROUP2_ROOT,
  cleanupStale,
  createCgroup,
  createNetns,
  createPodNetwork,
  deleteNetns,
  execInNetns,
  listNetns,
  netnsPath,
  removeCgroup,
  spawnInNetns,
  type PodNetwork,
} from '../../src/netns/index.js';
import { run } from '../../src/netns/exec.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('netns-topology: skipped, needs root for network namespaces and cgroups');

const prefix = `ebft${process.pid % 100000}`;
const cgroup = `${CGROUP2_ROOT}/${prefix}-test`;

const SERVER = `const net=require('net');net.createServer(s=>{s.once('data',d=>s.end('pong:'+d))}).listen(8080,'0.0.0.0',()=>console.log('ready'))`;
const CLIENT = `const net=require('net');const c=net.connect(8080,process.argv[1],()=>c.write('ping'));let r='';c.setTimeout(3000,()=>{console.error('timeout');process.exit(2)});c.on('data',d=>r+=d);c.on('end',()=>{console.log(r);process.exit(0)});c.on('error',e=>{console.error(e.message);process.exit(1)})`;

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!isRoot)('netns topology (root)', () => {
  let net: PodNetwork;

  beforeAll(async () => {
    await cleanupStale(prefix);
    net = await createPodNetwork({
      prefix,
      pods: [
        { name: 'a', ip: '10.200.0.10' },
        { name: 'b', ip: '10.200.0.11' },
        { name: 'c', ip: '10.200.0.12', extraIps: ['10.180.0.1', '10.180.0.2'] },
      ],
    });
  });

  afterAll(async () => {
    await net?.destroy();
    await removeCgroup(cgroup).catch(() => undefined);
  });

  it('creates the node and pod namespaces with short host veths and no default route on the node', async () => {
    expect(await listNetns(`${prefix}-`)).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`, `${prefix}-node`].sort());
    expect(net.pods.map((p) => p.hostIf)).toEqual([`${prefix}0`, `${prefix}1`, `${prefix}2`]);
    expect(net.pods.every((p) => p.hostIfIndex > 1 && p.podIfIndex > 1)).toBe(true);
    const { stdout } = await run('ip', ['-n', net.nodeNs, 'route', 'show', 'default']);
    expect(stdout.trim()).toBe('');
  });

  it('refuses to create an existing namespace unless asked to reuse it', async () => {
    await expect(createNetns(net.nodeNs)).rejects.toMatchObject({ code: 'NETNS_EXISTS' });
    await expect(createNetns(net.nodeNs, { reuse: true })).resolves.toBeUndefined();
  });

  it('carries TCP between pods through the node namespace, to primary and extra addresses', async () => {
    const server = spawnInNetns(net.pods[2]!.ns, process.execPath, ['-e', SERVER]);
    try {
      await waitFor(() => server.stdout.includes('ready'), 5000);
      for (const [from, to] of [[0, '10.200.0.12'], [1, '10.180.0.2']] as const) {
        const res = await execInNetns(net.pods[from]!.ns, process.execPath, ['-e', CLIENT, to], { timeoutMs: 10_000 });
        expect(res.stdout.trim()).toBe('pong:ping');
      }
    } finally {
      server.kill('SIGTERM');
      await server.wait();
    }
  });

  it('rejects a failing command with its exit code and stderr', async () => {
    await expect(execInNetns(net.pods[0]!.ns, 'sh', ['-c', 'echo nope >&2; exit 3'])).rejects.toMatchObject({
      code: 'NETNS_COMMAND_FAILED',
      exitCode: 3,
      stderr: 'nope\n',
    });
  });

  it('starts a process inside the requested cgroup and removes the cgroup once it is empty', async () => {
    await createCgroup(cgroup);
    const p = spawnInNetns(net.pods[0]!.ns, 'sleep', ['10'], { cgroup });
    try {
      await waitFor(() => readFileSync(`${cgroup}/cgroup.procs`, 'utf8').split('\n').includes(String(p.pid)), 5000);
      // ...and in the pod's network namespace.
      expect(statSync(`/proc/${p.pid}/ns/net`).ino).toBe(statSync(netnsPath(net.pods[0]!.ns)).ino);
      await expect(removeCgroup(cgroup)).rejects.toMatchObject({ code: 'NETNS_CGROUP_BUSY' });
    } finally {
      p.kill('SIGKILL');
    }
    const status = await p.wait();
    expect(status.signal).toBe('SIGKILL');
    await removeCgroup(cgroup);
    expect(existsSync(cgroup)).toBe(false);
  });

  it('destroy removes every namespace it created', async () => {
    await net.destroy();
    expect(await listNetns(`${prefix}-`)).toEqual([]);
    await deleteNetns(`${prefix}-node`); // absent: no error
  });
});
