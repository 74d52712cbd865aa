// The pods' cgroup parent on this hybrid host: runc (cgroupfs driver)
// creates <parent>/<container id> in every v1 hierarchy and in the unified
// v2 tree; the kubelet's owner removes what is left of the parent once the
// runtime has stopped. Only names of the form ebbflow-… are ever touched.
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_FS = '/sys/fs/cgroup';

/** Throws unless the cgroupfs parent is /ebbflow-<something> (never the root, never someone else's tree). */
export function checkCgroupParent(parent: string): string {
  if (!/^\/ebbflow-[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(parent)) throw new Error(`cgroup parent ${JSON.stringify(parent)} must look like /ebbflow-<name>[/...]`);
  return parent;
}

/** Removes the parent's empty cgroup directories (children first) in every hierarchy; returns those that could not go. */
export function removeCgroupParent(parent: string): string[] {
  checkCgroupParent(parent);
  const left: string[] = [];
  const rm = (path: string) => {
    for (const e of readdirSync(path)) {
      const p = join(path, e);
      if (statSync(p).isDirectory()) rm(p);
    }
    try {
      rmdirSync(path);
    } catch {
      left.push(path);
    }
  };
  for (const h of readdirSync(CGROUP_FS)) {
    const p = join(CGROUP_FS, h, parent);
    if (existsSync(p)) rm(p);
  }
  return left;
}
