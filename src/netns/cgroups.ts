// cgroup v2 directories under the unified mount of this hybrid host: create
// and remove only; moving processes is the spawner's job.
import { mkdir, rmdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { CgroupBusyError, CgroupRefusedError } from './errors.js';

/** Where cgroup v2 is mounted on this (hybrid) host. */
export const CGROUP2_ROOT = '/sys/fs/cgroup/unified';

/** Throws CgroupRefusedError unless `path` is a normalized directory strictly below CGROUP2_ROOT. */
export function checkCgroupPath(path: string, root: string = CGROUP2_ROOT): string {
  if (!posix.isAbsolute(path)) throw new CgroupRefusedError(path, 'not absolute');
  const norm = posix.normalize(path).replace(/\/+$/, '');
  if (norm !== path.replace(/\/+$/, '')) throw new CgroupRefusedError(path, 'not normalized');
  if (norm === root) throw new CgroupRefusedError(path, 'is the cgroup v2 root');
  if (!norm.startsWith(root + '/')) throw new CgroupRefusedError(path, `not under ${root}`);
  const leaf = norm.slice(root.length + 1);
  if (leaf.split('/').some((part) => part.startsWith('cgroup.') || part === '')) {
    throw new CgroupRefusedError(path, 'names a cgroup control file');
  }
  return norm;
}

/** Creates the cgroup directory (and missing parents); existing is fine. */
export async function createCgroup(path: string): Promise<void> {
  await mkdir(checkCgroupPath(path), { recursive: true });
}

/** Removes an empty cgroup; absent is fine; CgroupBusyError if processes or children remain. */
export async function removeCgroup(path: string): Promise<void> {
  try {
    await rmdir(checkCgroupPath(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') throw new CgroupBusyError(path);
    throw err;
  }
}
