// A whole ebbflow node for kubelet tests: the in-process API server, a node
// network namespace, the agent (dataplane + CNI) with its plugin installed
// into our containerd's CNI dirs, containerd started inside the node
// namespace with its own dirs, our images imported, and the kubelet.
// close() removes everything it made, in reverse, even after failures.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentHandle } from '../../src/agent/agent.js';
import { removeCgroupParent } from '../../src/kubelet/cgroups.js';
import type { ContainerdHandle } from '../../src/kubelet/containerd.js';
import type { KubeletConfig, KubeletHandle } from '../../src/kubelet/kubelet.js';
import { startNodeRuntime, type NodeRuntimeHandle } from '../../src/kubelet/node.js';
import { createLogger } from '../../src/log/logger.js';
import { CGROUP2_ROOT, createCgroup, createNetns, deleteNetns, listNetns, netnsPath, sysctl } from '../../src/netns/index.js';
import { startTestServer, type TestServer } from './apiserver.js';
import { mountsUnder, shimsOf } from '../../src/kubelet/leftovers.js';

// The kubelet runs in the host namespace and serves its API on loopback, where the API server reaches it.
export const NODE_IP = '127.0.0.1';

export interface KubeletNode {
  server: TestServer;
  agent: AgentHandle;
  containerd: ContainerdHandle;
  kubelet: KubeletHandle;
  /** Stops the kubelet (pods keep running) and starts a new one with the same config. */
  restartKubelet(): Promise<KubeletHandle>;
  node: string;
  nodeNs: string;
  dir: string;
  logRoot: string;
  /** Runs kubectl, throwing with stderr on failure; returns stdout. */
  kubectl(args: string[], input?: string): Promise<string>;
  close(): Promise<void>;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes what runs that died without cleaning up left behind (their pid is gone): namespaces, cgroups, pins, dirs. */
async function sweepDeadRuns(prefix: string): Promise<void> {
  const short = prefix.replace(/^ebft-/, '');
  const pidOf = (name: string, re: RegExp) => Number(re.exec(name)?.[1] ?? NaN);
  for (const ns of await listNetns(prefix)) {
    const pid = pidOf(ns, new RegExp(`^${prefix}(\\d+)-`));
    if (Number.isFinite(pid) && !alive(pid)) await deleteNetns(ns);
  }
  for (const d of readdirSync(tmpdir())) {
    const pid = pidOf(d, new RegExp(`^ebbflow-${short}-(\\d+)-`));
    if (Number.isFinite(pid) && !alive(pid) && mountsUnder(join(tmpdir(), d)).length === 0) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
  for (const c of readdirSync('/sys/fs/cgroup/unified')) {
    const pid = pidOf(c, new RegExp(`^ebbflow-test-${short}-(\\d+)$`));
    if (Number.isFinite(pid) && !alive(pid)) removeCgroupParent(`/${c}`);
  }
  if (existsSync('/sys/fs/bpf/ebbflow')) {
    for (const p of readdirSync('/sys/fs/bpf/ebbflow')) {
      const pid = pidOf(p, new RegExp(`^test-${short}-(\\d+)$`));
      if (Number.isFinite(pid) && !alive(pid)) rmSync(join('/sys/fs/bpf/ebbflow', p), { recursive: true, force: true });
    }
  }
}

export async function startKubeletNode(opts: { prefix: string; node: string; podCIDR: string; kubelet?: Partial<KubeletConfig> }): Promise<KubeletNode> {
  const logger = createLogger({ level: 'silent' });
  // Names carry our pid so two runs of the suite on one machine never tear down each other's node.
  const nodeNs = `${opts.prefix}${process.pid}-node`;
  const tag = `${opts.prefix.replace(/^ebft-/, '')}-${process.pid}`;
  const cgroupName = `ebbflow-test-${tag}`;
  const pinRoot = `/sys/fs/bpf/ebbflow/test-${tag}`;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const close = async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        console.log(`kubelet-node cleanup step failed: ${(err as Error).message}`);
      }
    }
    cleanups.length = 0;
  };
  try {
    await sweepDeadRuns(opts.prefix);
    const dir = mkdtempSync(join(tmpdir(), `ebbflow-${tag}-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = await startTestServer();
    cleanups.push(() => server.close());
    await createNetns(nodeNs);
    cleanups.push(() => deleteNetns(nodeNs));
    await sysctl(nodeNs, 'net.ipv4.ip_forward', 1);
    const podCgroup = `${CGROUP2_ROOT}/${cgroupName}`;
    await createCgroup(podCgroup);
    cleanups.push(() => {
      const left = removeCgroupParent(`/${cgroupName}`);
      if (left.length) throw new Error(`cgroups left: ${left.join(' ')}`);
    });
    cleanups.push(() => rmSync(pinRoot, { recursive: true, force: true }));
    const cniBinDir = join(dir, 'cni-bin');
    const cniConfDir = join(dir, 'cni-conf');
    const agent = await startAgent({
      node: opts.node, kubeconfig: server.kubeconfig, podCIDR: opts.podCIDR, stateDir: join(dir, 'agent'), pinRoot,
      cniSocket: join(dir, 'cni.sock'), hostNetns: netnsPath(nodeNs), podCgroup, cniBinDir, cniConfDir,
      flowsAddress: null, metricsAddress: null, logger,
    });
    cleanups.push(() => agent.stop());
    const logRoot = join(dir, 'node', 'pods');
    const pki = (f: string) => readFileSync(join(server.dir, 'pki', f), 'utf8');
    let runtime: NodeRuntimeHandle | undefined;
    let address = '';
    cleanups.push(() => {
      for (const m of mountsUnder(dir)) execFileSync('umount', ['-l', m]);
    });
    cleanups.push(() => {
      if (address) for (const pid of shimsOf(address)) process.kill(pid, 'SIGKILL');
    });
    cleanups.push(() => runtime?.stop({ removePods: true }));
    runtime = await startNodeRuntime({
      node: opts.node, kubeconfig: server.kubeconfig, podCIDR: opts.podCIDR, nodeIP: NODE_IP, runDir: join(dir, 'node'),
      netns: netnsPath(nodeNs), cniBinDir, cniConfDir, cgroupParent: `/${cgroupName}`,
      // The kubelet API borrows the API server's serving pair; only clients signed by the cluster CA get in.
      server: { host: NODE_IP, port: 0, cert: pki('server.crt'), key: pki('server.key'), clientCA: pki('ca.crt') },
      kubelet: opts.kubelet, logger,
    });
    address = runtime.containerd.address;
    const rt = runtime;
    const handle: KubeletNode = {
      server, agent, containerd: rt.containerd, node: opts.node, nodeNs, dir, logRoot,
      get kubelet() {
        return rt.kubelet;
      },
      restartKubelet: () => rt.restartKubelet(),
      async kubectl(args, input) {
        const r = await server.kubectl(args, input);
        if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      },
      close,
    };
    return handle;
  } catch (err) {
    await close();
    throw err;
  }
}
