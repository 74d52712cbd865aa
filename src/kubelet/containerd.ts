// A containerd 1.6 of our own: generated config (version 2), its own root,
// state and socket, CRI pointed at our pause image and at the caller's CNI
// dirs, started as a child process (optionally inside a node network
// namespace) and stopped by the pid we started.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** True when pid is a containerd running with exactly this config file (guards against pid reuse). */
function isContainerdFor(pid: number, configPath: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(CONTAINERD_BIN) && argv.includes(configPath);
  } catch {
    return false;
  }
}

/** SIGTERM to the pid we started, SIGKILL after the grace period; resolves when it is gone. */
async function stopPid(pid: number, graceMs: number, log: Logger): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const killAt = Date.now() + graceMs;
  let killed = false;
  while (alive(pid)) {
    if (!killed && Date.now() > killAt) {
      process.kill(pid, 'SIGKILL');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  log.info({ pid, killed }, 'containerd stopped');
}

function readTail(file: string, bytes: number): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(size, bytes);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
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

  const pidFile = join(config.runDir, 'containerd.pid');
  const logFile = join(config.runDir, 'containerd.log');
  const logTail = () => readTail(logFile, 8192);
  const grace = config.stopGraceMs ?? 5000;
  const deadline = Date.now() + (config.startTimeoutMs ?? 20_000);

  // A containerd we started earlier for this run dir (the agent was killed
  // and started again) is adopted, not replaced: pods and their shims never
  // notice an agent restart.
  const previous = readPid(pidFile);
  if (previous && isContainerdFor(previous, configPath)) {
    while (!(await socketAnswers(address))) {
      if (!alive(previous)) break;
      if (Date.now() > deadline) throw new KubeletError('KUBELET_ERR_CONTAINERD_TIMEOUT', `running containerd (pid ${previous}) does not answer on ${address}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (alive(previous)) {
      log.info({ pid: previous, address }, 'adopted running containerd');
      return { pid: previous, address, rootDir, stateDir, configPath, logTail, stop: () => stopPid(previous, grace, log) };
    }
  }

  const argv = [CONTAINERD_BIN, '--config', configPath, '--root', rootDir, '--state', stateDir, '--address', address];
  // nsenter --net switches only the network namespace. `ip netns exec` would
  // also give containerd a private mount namespace with a fresh /sys: the
  // cgroup mounts would vanish for runc, and the pod netns bind mounts that
  // containerd makes under /var/run/netns would be invisible to the agent.
  const inNs = config.netns ? ['nsenter', `--net=${config.netns}`, '--', ...argv] : argv;
  const full = config.cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', config.cgroup, ...inNs] : inNs;
  const [cmd, ...args] = full as [string, ...string[]];
  // stderr goes to a file, not a pipe: containerd must outlive a killed agent
  // (a Go program exits on EPIPE when writing to a closed stderr).
  const logFd = openSync(logFile, 'a');
  // PATH must reach containerd-shim-runc-v2 and iptables-free tools; nothing else of ours is inherited.
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', logFd], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, detached: true });
  closeSync(logFd);
  child.unref();
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.once('error', () => {
    exited = { code: null, signal: null };
  });
  const pid = child.pid ?? -1;
  if (pid > 0) writeFileSync(pidFile, `${pid}\n`);
  const stop = async (): Promise<void> => {
    if (exited || pid <= 0) return;
    await stopPid(pid, grace, log);
    rmSync(pidFile, { force: true });
  };

  while (!(await socketAnswers(address))) {
    if (exited) throw new KubeletError('KUBELET_ERR_CONTAINERD_START', `containerd exited (${JSON.stringify(exited)}) before its socket answered: ${logTail().trim().split('\n').slice(-5).join(' | ')}`);
    if (Date.now() > deadline) {
      await stop();
      throw new KubeletError('KUBELET_ERR_CONTAINERD_TIMEOUT', `containerd socket ${address} did not answer in time: ${logTail().trim().split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  log.info({ pid, address }, 'containerd ready');
  return { pid, address, rootDir, stateDir, configPath, logTail, stop };
}

/** Removes a stopped containerd's run dir (and root when it is inside); unmounts nothing, so stop it first. */
export function removeContainerdDirs(runDir: string, rootDir?: string): void {
  rmSync(runDir, { recursive: true, force: true });
  if (rootDir) rmSync(rootDir, { recursive: true, force: true });
}
