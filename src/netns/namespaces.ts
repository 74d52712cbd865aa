// Network namespaces: create (with lo up), delete, list, and sysctls inside one.
import { readdir } from 'node:fs/promises';
import { sysctlArgs } from './args.js';
import { NetnsExistsError } from './errors.js';
import { run } from './exec.js';
import { checkNetnsName } from './names.js';

/** Where iproute2 keeps its named namespace bind mounts. */
export const NETNS_RUN_DIR = '/var/run/netns';

/** The bind-mount path of a named namespace. */
export function netnsPath(name: string): string {
  return `${NETNS_RUN_DIR}/${checkNetnsName(name)}`;
}

/** Names of existing namespaces starting with `prefix` (all when empty). */
export async function listNetns(prefix = ''): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(NETNS_RUN_DIR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.filter((n) => n.startsWith(prefix)).sort();
}

/** True when a namespace of that name exists. */
export async function netnsExists(name: string): Promise<boolean> {
  checkNetnsName(name);
  return (await listNetns(name)).includes(name);
}

export interface CreateNetnsOptions {
  /** Accept an existing namespace of that name instead of failing. */
  reuse?: boolean;
}

/** Creates a named namespace and brings its `lo` up; fails with NetnsExistsError unless `reuse`. */
export async function createNetns(name: string, opts: CreateNetnsOptions = {}): Promise<void> {
  checkNetnsName(name);
  if (await netnsExists(name)) {
    if (opts.reuse !== true) throw new NetnsExistsError(name);
  } else {
    await run('ip', ['netns', 'add', name]);
  }
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a named namespace (and with it every interface inside); absent is not an error. */
export async function deleteNetns(name: string): Promise<void> {
  checkNetnsName(name);
  if (!(await netnsExists(name))) return;
  await run('ip', ['netns', 'delete', name]);
}

/** Sets one sysctl inside the namespace (`ip netns exec ns sysctl -qw key=value`). */
export async function sysctl(ns: string, key: string, value: string | number): Promise<void> {
  await run('ip', sysctlArgs(ns, key, value));
}
