// Memory of the cluster's processes as the kernel reports it: VmRSS and its
// split (anonymous vs file-backed: a Node process's file pages are mostly the
// node binary, shared between the server and every agent), the peak
// (VmHWM), and PSS from smaps_rollup (shared pages divided among sharers;
// the fair figure when adding up many containerd shims).
import { readdirSync, readFileSync } from 'node:fs';

export interface MemSample {
  pid: number;
  rssKiB: number;
  hwmKiB: number;
  anonKiB: number;
  fileKiB: number;
  pssKiB: number;
}

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** The process's memory figures, or undefined when it is gone. */
export function memOf(pid: number): MemSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    let pss = 0;
    try {
      pss = field(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    } catch {
      // older kernels: no rollup; leave 0
    }
    return {
      pid, rssKiB: field(status, 'VmRSS'), hwmKiB: field(status, 'VmHWM'),
      anonKiB: field(status, 'RssAnon'), fileKiB: field(status, 'RssFile') + field(status, 'RssShmem'), pssKiB: pss,
    };
  } catch {
    return undefined;
  }
}

/** pids whose argv[0] ends with `exe` and whose argv contains every marker. */
export function findProcesses(exe: string, markers: readonly string[]): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith(exe) && markers.every((m) => argv.includes(m))) out.push(Number(e));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

export interface GroupSample {
  count: number;
  rssKiB: number;
  pssKiB: number;
}

/** Summed RSS and PSS of a set of processes. */
export function memOfGroup(pids: readonly number[]): GroupSample {
  const s = pids.map(memOf).filter((m): m is MemSample => m !== undefined);
  return { count: s.length, rssKiB: s.reduce((a, m) => a + m.rssKiB, 0), pssKiB: s.reduce((a, m) => a + m.pssKiB, 0) };
}

export const MiB = (kib: number): number => kib / 1024;
