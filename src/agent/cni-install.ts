// Installs ebbflow-cni for a container runtime: the executable the runtime
// finds by the config's "type" in its bin dir, and the conflist as the first
// file of its conf dir (runtimes use only the first). Files are rewritten
// only when their content changes, atomically, so a runtime reading the conf
// dir never sees a partial file and its inotify watchers see no churn.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PLUGIN_NAME = 'ebbflow-cni';
export const CONFLIST_NAME = '05-ebbflow.conflist';
/** Debian's containerd points its CNI bin_dir and conf_dir here. */
export const DEBIAN_CNI_BIN_DIR = '/usr/lib/cni';
export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';

export interface InstallConfig {
  /** Where the runtime looks for plugin executables. */
  binDir?: string;
  /** Where the runtime reads network configs. */
  confDir?: string;
  /** The agent's CNI socket, written into the conflist. */
  agentSocket: string;
  mtu?: number;
  /** Node binary the wrapper execs; default the running one. */
  nodePath?: string;
  /** The compiled plugin (dist/cni/main.js); default found from this file. */
  pluginJs?: string;
  /** The native shim to install instead of the node wrapper; default
   * build/cni/ebbflow-cni when it exists and no nodePath/pluginJs is given. */
  shim?: string | false;
}

export interface InstallResult {
  pluginPath: string;
  conflistPath: string;
  /** Which files were (re)written. */
  changed: string[];
}

/** The compiled plugin entry (dist/cni/main.js), found from this module's place in dist/src/agent. */
export function defaultPluginJs(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/agent -> dist/cni/main.js; from src/agent (vite-node) -> <root>/dist/cni/main.js.
  const fromDist = resolve(here, '..', '..', 'cni', 'main.js');
  if (here.includes(`${join('dist', 'src', 'agent')}`)) return fromDist;
  return resolve(here, '..', '..', 'dist', 'cni', 'main.js');
}

/**
 * The wrapper script. Runtimes exec a plugin by file name with no arguments
 * of ours and may clear PATH, so the plugin must be one executable file: a
 * #!/bin/sh script that execs an absolute node binary on the absolute
 * main.js (a `#!/usr/bin/env node` shebang on main.js would depend on PATH
 * and on main.js itself being copied, which breaks its relative imports).
 */
export function wrapperScript(nodePath: string, pluginJs: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# ebbflow-cni: written by the ebbflow agent; runs the plugin with a fixed node binary.\nexec ${q(nodePath)} ${q(pluginJs)} "$@"\n`;
}

/** The conflist: ebbflow first, then portmap (hostPort) and bandwidth (traffic shaping) chained on its result. */
export function conflist(agentSocket: string, mtu?: number): string {
  const list = {
    cniVersion: '1.0.0',
    name: 'ebbflow',
    plugins: [
      { type: PLUGIN_NAME, agentSocket, ...(mtu ? { mtu } : {}) },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };
  return `${JSON.stringify(list, null, 2)}\n`;
}

function writeIfChanged(path: string, content: string | Buffer, mode: number): boolean {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  if (existsSync(path) && readFileSync(path).equals(bytes)) {
    chmodSync(path, mode);
    return false;
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  return true;
}

/** The native shim built by scripts/setup.sh (cni/shim/ebbflow-cni.c). */
export function defaultShimPath(): string {
  return resolve(dirname(defaultPluginJs()), '..', '..', 'build', 'cni', PLUGIN_NAME);
}

/** Writes the plugin into binDir: the native shim (relays to the agent,
 * ~1 ms) when built, else the node wrapper; returns its path and whether it changed. */
export function installPlugin(
  binDir: string,
  opts: { nodePath?: string; pluginJs?: string; shim?: string | false } = {},
): { path: string; changed: boolean } {
  const path = join(binDir, PLUGIN_NAME);
  const wantsWrapper = opts.nodePath !== undefined || opts.pluginJs !== undefined;
  const shim = opts.shim ?? (wantsWrapper ? false : defaultShimPath());
  if (shim && existsSync(shim)) return { path, changed: writeIfChanged(path, readFileSync(shim), 0o755) };
  const pluginJs = resolve(opts.pluginJs ?? defaultPluginJs());
  return { path, changed: writeIfChanged(path, wrapperScript(opts.nodePath ?? process.execPath, pluginJs), 0o755) };
}

/** Installs the wrapper and the conflist. */
export function installCni(config: InstallConfig): InstallResult {
  const binDir = config.binDir ?? DEBIAN_CNI_BIN_DIR;
  const confDir = config.confDir ?? DEFAULT_CNI_CONF_DIR;
  const plugin = installPlugin(binDir, { nodePath: config.nodePath, pluginJs: config.pluginJs, shim: config.shim });
  const conflistPath = join(confDir, CONFLIST_NAME);
  const changed = plugin.changed ? [plugin.path] : [];
  if (writeIfChanged(conflistPath, conflist(config.agentSocket, config.mtu), 0o644)) changed.push(conflistPath);
  return { pluginPath: plugin.path, conflistPath, changed };
}
