// What a node runtime can leave behind when it is not stopped cleanly, found
// so that its owner can remove it: mounts below a directory, and the
// containerd shims serving one containerd (their -address names its socket,
// so they are ours by construction, never matched by name alone).
import { readdirSync, readFileSync } from 'node:fs';

/** Mount points at or below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (mp && (mp === dir || mp.startsWith(`${dir}/`))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Pids of containerd shims serving the containerd at `address` (its socket path). */
export function shimsOf(address: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(address)) pids.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
