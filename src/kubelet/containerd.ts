// A containerd 1.6 of our own: generated config (version 2), its own root,
// state and socket, CRI pointed at our pause image and at the caller's CNI
// dirs, started as a child process (optionally inside a node network
// namespace) and stopped by the pid we started.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { forComponent, type Logger } from '../log/logger.js';
import { KubeletError } from './errors.js';

export const CONTAINERD_BIN = '/usr/bin/containerd';
export const RUNC_BIN = '/usr/bin/runc';
/** Debian's reference plugins that a runtime needs next to ours (loopback) or that our conflist chains. */
export const SYSTEM_CNI_DIR = '/usr/lib/cni';
export const REFERENCE_PLUGINS = ['loopback', 'portmap', 'bandwidth'] as const;

export interface ContainerdConfig {
  /** Per-node run dir: socket, state and the generated config live here. */
  runDir: string;
  /** Persistent root (images, snapshots); default <runDir>/root. */
  rootDir?: string;
  /** CRI sandbox image, already imported or importable (e.g. localhost/ebbflow/pause:3.9). */
  sandboxImage: string;
  cniBinDir: string;
  cniConfDir: string;
  /** Network namespace path containerd (and so every pod's sandbox creation) runs in; none = the caller's. */
  netns?: string;
  /** cgroup v2 directory containerd itself is put in before it executes. */
  cgroup?: string;
  /** How long to wait for the socket to answer (default 20 s). */
  startTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL on stop (default 5 s). */
  stopGraceMs?: number;
  logger: Logger;
}

export interface ContainerdHandle {
  readonly pid: number;
  /** The CRI/containerd gRPC unix socket. */
  readonly address: string;
  readonly rootDir: string;
  readonly stateDir: string;
  readonly configPath: string;
  /** The last lines containerd wrote to stderr (for error reports). */
  logTail(): string;
  /** Stops containerd by its pid: SIGTERM, then SIGKILL after the grace period. */
  stop(): Promise<void>;
}

const q = (s: string) => JSON.stringify(s); // TOML basic strings accept JSON escapes.

/** The config.toml (version 2) for one node's containerd. */
export function containerdToml(c: { rootDir: string; stateDir: string; address: string; sandboxImage: string; cniBinDir: string; cniConfDir: string }): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `# written by the ebbflow kubelet; do not edit
version = 2
root = ${q(c.rootDir)}
state = ${q(c.stateDir)}
# Plugins we never use, and those that would reach outside this node (tracing exporters).
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
  "io.containerd.internal.v1.opt",
]

[grpc]
  address = ${q(c.address)}
[ttrpc]
  address = ${q(`${c.address}.ttrpc`)}
[debug]
  address = ""
  level = "warn"
[metrics]
  address = ""

[${cri}]
  sandbox_image = ${q(c.sandboxImage)}
  # The streaming server (exec/attach/port-forward) only on loopback, on a free port.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        BinaryName = ${q(RUNC_BIN)}
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = ${q(c.cniBinDir)}
    conf_dir = ${q(c.cniConfDir)}
    max_conf_num = 1
  [${cri}.registry]
    config_path = ""
`;
}

/** Links Debian's loopback/portmap/bandwidth into binDir (existing entries are left alone). */
export function linkReferencePlugins(binDir: string): void {
  mkdirSync(binDir, { recursive: true });
  for (const p of REFERENCE_PLUGINS) {
    const dst = join(binDir, p);
    if (!existsSync(dst)) symlinkSync(join(SYSTEM_CNI_DIR, p), dst);
  }
}

/** True once something accepts connections on the unix socket. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts containerd and resolves when its socket answers; rejects (after stopping it) if it exits or times out. */
export async function startContainerd(config: ContainerdConfig): Promise<ContainerdHandle> {
  const log = forComponent(config.logger, 'containerd');
  const rootDir = config.rootDir ?? join(config.runDir, 'root');
  const stateDir = join(config.runDir, 'state');
  const address = join(config.runDir, 'containerd.sock');
  const configPath = join(config.runDir, 'config.toml');
  for (const d of [config.runDir, rootDir, stateDir, config.cniConfDir]) mkdirSync(d, { recursive: true });
  linkReferencePlugins(config.cniBinDir);
  writeFileSync(configPath, containerdToml({ rootDir, stateDir, address, sandboxImage: config.sandboxImage, cniBinDir: config.cniBinDir, cniConfDir: config.cniConfDir }));

  const argv = [CONTAINERD_BIN, '--config', configPath, '--root', rootDir, '--state', stateDir, '--address', address];
  // nsenter --net switches only the network namespace. `ip netns exec` would
  // also give containerd a private mount namespace with a fresh /sys: the
  // cgroup mounts would vanish for runc, and the pod netns bind mounts that
  // containerd makes under /var/run/netns would be invisible to the agent.
  const inNs = config.netns ? ['nsenter', `--net=${config.netns}`, '--', ...argv] : argv;
  const full = config.cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', config.cgroup, ...inNs] : inNs;
  const [cmd, ...args] = full as [string, ...string[]];
  // PATH must reach containerd-shim-runc-v2 and iptables-free tools; nothing else of ours is inherited.
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, detached: false });
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    tail = (tail + d).slice(-8192);
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      exited = { code: null, signal: null };
      tail += String(err.message);
      resolve();
    });
  });
  const pid = child.pid ?? -1;

  const stop = async (): Promise<void> => {
    if (exited || pid <= 0) return;
    process.kill(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (!exited) process.kill(pid, 'SIGKILL');
    }, config.stopGraceMs ?? 5000);
    await exit;
    clearTimeout(timer);
    log.info({ pid, exit: exited }, 'containerd stopped');
  };

  const deadline = Date.now() + (config.startTimeoutMs ?? 20_000);
  while (!(await socketAnswers(address))) {
    if (exited) throw new KubeletError('KUBELET_ERR_CONTAINERD_START', `containerd exited (${JSON.stringify(exited)}) before its socket answered: ${tail.trim().split('\n').slice(-5).join(' | ')}`);
    if (Date.now() > deadline) {
      await stop();
      throw new KubeletError('KUBELET_ERR_CONTAINERD_TIMEOUT', `containerd socket ${address} did not answer in time: ${tail.trim().split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  log.info({ pid, address }, 'containerd ready');
  return { pid, address, rootDir, stateDir, configPath, logTail: () => tail, stop };
}

/** Removes a stopped containerd's run dir (and root when it is inside); unmounts nothing, so stop it first. */
export function removeContainerdDirs(runDir: string, rootDir?: string): void {
  rmSync(runDir, { recursive: true, force: true });
  if (rootDir) rmSync(rootDir, { recursive: true, force: true });
}
