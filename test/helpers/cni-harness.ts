// Drives ebbflow-cni the way a runtime does (exec with CNI_* env, config on
// stdin, JSON on stdout) against a real cni-server serving a node namespace
// the test creates. Everything lives under a unique namespace prefix and a
// temp dir; cleanup() removes all of it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCniServer, type CniServerConfig, type CniServerHandle } from '../../src/agent/cni-server.js';
import { cleanupStale, createNetns, deleteNetns, netnsPath, sysctl } from '../../src/netns/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const PLUGIN_JS = join(ROOT, 'dist', 'cni', 'main.js');

/** Fails (never skips) when the plugin is not built. */
export function requirePluginBuilt(): void {
  if (!existsSync(PLUGIN_JS)) throw new Error(`${PLUGIN_JS} is missing: run \`npm run build:ts\` before the CNI tests`);
}

export interface CniCall {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  /** Object (JSON-encoded) or raw stdin text. */
  config: unknown;
  /** Extra/overriding env; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** Run under `ip netns exec <ns>` (for reference plugins that touch iptables). */
  inNetns?: string;
  /** Executable to run instead of `node dist/cni/main.js` (e.g. the installed wrapper or /usr/lib/cni/portmap). */
  bin?: string;
}

export interface CniOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Parsed stdout, or undefined when empty. */
  json: any;
  ms: number;
}

/** Execs the plugin once and collects its answer. */
export function runCni(call: CniCall): Promise<CniOutcome> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: call.command, CNI_PATH: '/usr/lib/cni' };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  for (const [k, v] of Object.entries(call.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const exe = call.bin ? [call.bin] : [process.execPath, PLUGIN_JS];
  const argv = call.inNetns ? ['ip', 'netns', 'exec', call.inNetns, ...exe] : exe;
  const stdin = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: unknown;
      if (out.trim() !== '') {
        try {
          json = JSON.parse(out);
        } catch {
          json = undefined;
        }
      }
      resolve({ code, stdout: out, stderr: err, json, ms: performance.now() - started });
    });
    child.stdin.end(stdin);
  });
}

export interface CniLab {
  prefix: string;
  nodeNs: string;
  nodeNsPath: string;
  dir: string;
  socketPath: string;
  stateDir: string;
  podCIDR: string;
  server: CniServerHandle | undefined;
  /** The network config our plugin gets (as libcni passes it for the list's first plugin). */
  conf(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Creates a pod namespace `<prefix>-<name>`; returns its path. */
  addPod(name: string): Promise<string>;
  startServer(extra?: Partial<CniServerConfig>): Promise<CniServerHandle>;
  stopServer(): Promise<void>;
  cleanup(): Promise<void>;
}

/** A node namespace (forwarding, no link to the host) plus a temp dir for the agent socket and state. */
export async function createCniLab(tag: string, podCIDR = '10.231.0.0/24'): Promise<CniLab> {
  const prefix = `ebft-cni-${tag}`;
  await cleanupStale(prefix);
  const nodeNs = `${prefix}-node`;
  const dir = mkdtempSync(join(tmpdir(), `ebf-cni-${tag}-`));
  const pods: string[] = [];
  await createNetns(nodeNs);
  await sysctl(nodeNs, 'net.ipv4.ip_forward', 1);
  await sysctl(nodeNs, 'net.ipv4.conf.all.rp_filter', 0);
  await sysctl(nodeNs, 'net.ipv4.conf.default.rp_filter', 0);
  const lab: CniLab = {
    prefix,
    nodeNs,
    nodeNsPath: netnsPath(nodeNs),
    dir,
    socketPath: join(dir, 'run', 'cni.sock'),
    stateDir: join(dir, 'state'),
    podCIDR,
    server: undefined,
    conf: (extra = {}) => ({ cniVersion: '1.0.0', name: 'ebbflow', type: 'ebbflow-cni', agentSocket: lab.socketPath, ...extra }),
    async addPod(name) {
      const ns = `${prefix}-${name}`;
      await createNetns(ns);
      pods.push(ns);
      return netnsPath(ns);
    },
    async startServer(extra = {}) {
      lab.server = await startCniServer({ socketPath: lab.socketPath, hostNetns: lab.nodeNsPath, podCIDR, stateDir: lab.stateDir, ...extra });
      return lab.server;
    },
    async stopServer() {
      await lab.server?.stop();
      lab.server = undefined;
    },
    async cleanup() {
      await lab.stopServer().catch(() => undefined);
      for (const ns of pods) await deleteNetns(ns).catch(() => undefined);
      await deleteNetns(nodeNs).catch(() => undefined);
      await cleanupStale(prefix).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

/** A container id as runtimes make them (64 hex). */
export const containerId = () => randomBytes(32).toString('hex');

/** CNI_ARGS as containerd passes them. */
export const k8sArgs = (pod: string, ns = 'default') =>
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=${randomBytes(4).toString('hex')}`;
