// Container logs as the CRI runtime writes them (one file per attempt under
// the pod's log directory, lines "<RFC3339Nano> <stream> <P|F> <text>"):
// finding the current or previous file, decoding with the kubelet's
// options (timestamps, tailLines, sinceTime, limitBytes) and following.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export interface LogOptions {
  timestamps?: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** Only lines at or after this time (ms since epoch). */
  sinceMs?: number;
}

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Decodes CRI log text into whole lines, joining partial (P) records; text after the last complete line is returned as `rest`. */
export function parseCriLog(text: string): { lines: LogLine[]; rest: string } {
  const out: LogLine[] = [];
  let partial = '';
  let consumed = 0;
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break;
    const m = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(text.slice(pos, nl));
    pos = nl + 1;
    if (!m) {
      if (!partial) consumed = pos;
      continue;
    }
    partial += m[4];
    if (m[3] === 'F') {
      out.push({ time: m[1]!, stream: m[2] as 'stdout' | 'stderr', text: partial });
      partial = '';
      consumed = pos;
    }
  }
  return { lines: out, rest: text.slice(consumed) };
}

/** Applies sinceMs, tailLines, timestamps and limitBytes; returns the bytes to send. */
export function renderLog(lines: LogLine[], opts: LogOptions): string {
  let sel = opts.sinceMs !== undefined ? lines.filter((l) => Date.parse(l.time) >= opts.sinceMs!) : lines;
  if (opts.tailLines !== undefined) sel = opts.tailLines <= 0 ? [] : sel.slice(-opts.tailLines);
  let s = sel.map((l) => `${opts.timestamps ? `${l.time} ` : ''}${l.text}\n`).join('');
  if (opts.limitBytes !== undefined) s = Buffer.from(s).subarray(0, opts.limitBytes).toString('utf8');
  return s;
}

/** The pod's log directory under logRoot, found by uid (<ns>_<name>_<uid>). */
export function podLogDir(logRoot: string, uid: string): string | undefined {
  if (!existsSync(logRoot)) return undefined;
  const d = readdirSync(logRoot).find((e) => e.endsWith(`_${uid}`));
  return d ? join(logRoot, d) : undefined;
}

/** The log file of a container's latest (or previous) attempt. */
export function containerLogFile(podDir: string, container: string, previous = false): string | undefined {
  const dir = join(podDir, container);
  if (!existsSync(dir)) return undefined;
  const attempts = readdirSync(dir).map((f) => /^(\d+)\.log$/.exec(f)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])).sort((a, b) => a - b);
  const pick = previous ? attempts[attempts.length - 2] : attempts[attempts.length - 1];
  return pick === undefined ? undefined : join(dir, `${pick}.log`);
}

/** Removes the pod's log directory (after the pod is gone). */
export function removePodLogs(logRoot: string, uid: string): void {
  const d = podLogDir(logRoot, uid);
  if (d) rmSync(d, { recursive: true, force: true });
}

/** Reads a log file from `offset`; returns the text and the new offset. */
export async function readFrom(path: string, offset: number): Promise<{ text: string; offset: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size <= offset) return { text: '', offset };
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), offset: offset + bytesRead };
  } finally {
    await fh.close();
  }
}
