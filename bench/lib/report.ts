// Presentation of bench/lb.ts results: machine line, medians, the table.
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

export interface MachineInfo {
  nproc: number;
  kernel: string;
  cpu: string;
  iptables: string;
  nft: string;
}

/** nproc, kernel release and CPU model (from /proc/cpuinfo), plus tool versions passed in. */
export function machineInfo(iptables: string, nft: string): MachineInfo {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1].trim();
  } catch {
    // keep os.cpus()' model
  }
  return { nproc: cpus().length, kernel: release(), cpu, iptables, nft };
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Row {
  services: number;
  mode: string;
  /** null when the mode needs no programming (direct) or was not programmed. */
  programMs: number | null;
  rate: number;
  ratio: number | null;
  p50: number;
  p99: number;
  /** connect p50 over direct's at the same N: steadier than conn/s on a busy machine. */
  p50Ratio: number | null;
  note?: string;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padEnd(n) : s.padStart(n);
}

/** A fixed-width table: N, mode, program ms, conn/s, ratio vs direct, connect p50/p99 us. */
export function formatTable(rows: readonly Row[]): string {
  const head = `${pad('N', 6)}  ${pad('mode', 14, true)} ${pad('program ms', 11)} ${pad('conn/s', 9)} ${pad('vs direct', 9)} ${pad('p50 us', 7)} ${pad('p99 us', 7)} ${pad('p50/direct', 10)}  note`;
  const lines = [head, '-'.repeat(head.length)];
  for (const r of rows) {
    lines.push(
      `${pad(String(r.services), 6)}  ${pad(r.mode, 14, true)} ${pad(r.programMs === null ? '-' : r.programMs.toFixed(0), 11)} ${pad(r.rate.toFixed(0), 9)} ${pad(r.ratio === null ? '-' : r.ratio.toFixed(2), 9)} ${pad(String(Math.round(r.p50)), 7)} ${pad(String(Math.round(r.p99)), 7)} ${pad(r.p50Ratio === null ? '-' : r.p50Ratio.toFixed(2), 10)}  ${r.note ?? ''}`,
    );
  }
  return lines.join('\n');
}
