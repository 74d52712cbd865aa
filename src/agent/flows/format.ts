// Human output of flows for `ebbflow observe`: Hubble-like table and compact
// lines. Colour is the caller's decision (only on a TTY).
import type { Flow, FlowEndpoint } from './types.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec  1 22:45:01.123" in local time, like Hubble. */
export function shortTime(f: Flow): string {
  const d = new Date(Number(BigInt(f.timeNs) / 1_000_000n));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const named = (ep: FlowEndpoint | undefined) => (ep ? `${ep.namespace}/${ep.pod}` : undefined);
const withPort = (host: string, port: number) => (port ? `${host}:${port}` : host);

export function sourceText(f: Flow): string {
  return withPort(named(f.source) ?? (f.sourceIp || '(unbound socket)'), f.sourcePort);
}
export function destinationText(f: Flow): string {
  return withPort(named(f.destination) ?? f.destinationIp, f.destinationPort);
}
export function typeText(f: Flow): string {
  return f.type === 'trace' ? f.subtype : f.type;
}

/** One sentence about what the flow is. */
export function summaryText(f: Flow): string {
  const parts: string[] = [f.protocol];
  if (f.tcpFlags?.length) parts.push(`Flags: ${f.tcpFlags.join(', ')}`);
  const svc = f.service ? ` (${f.service.namespace}/${f.service.name})` : '';
  if (f.translation) {
    const t = f.translation;
    parts.push(`${t.vip}:${t.vipPort}${svc} -> ${t.backend}:${t.backendPort}`);
  } else if (f.type === 'drop') {
    parts.unshift(`${f.dropReason}`);
    if (f.serviceId) parts.push(`to ${f.destinationIp}:${f.destinationPort}${svc}`);
  }
  if (f.policy && f.policy.verdict !== 'none') parts.push(`policy ${f.policy.direction} ${f.policy.verdict}`);
  else if (f.type === 'policy-verdict') parts.push(`policy ${f.direction} not enforced`);
  return parts.join(' ');
}

export interface Colours {
  verdict(v: string): string;
  dim(s: string): string;
}

export const NO_COLOUR: Colours = { verdict: (v) => v, dim: (s) => s };
export const ANSI_COLOUR: Colours = {
  verdict: (v) => `\x1b[${v === 'DROPPED' ? 31 : v === 'TRANSLATED' ? 33 : 32}m${v}\x1b[0m`,
  dim: (s) => `\x1b[2m${s}\x1b[0m`,
};

export const TABLE_HEADER = ['TIME', 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY'] as const;

export function tableRow(f: Flow): string[] {
  return [shortTime(f), sourceText(f), destinationText(f), typeText(f), f.verdict, summaryText(f)];
}

/** Pads columns to `widths` (the last column is not padded); verdict coloured after padding. */
export function formatRow(cells: readonly string[], widths: readonly number[], c: Colours = NO_COLOUR, verdictCol = 4): string {
  return cells
    .map((cell, i) => {
      const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? cell.length);
      return i === verdictCol && cell !== 'VERDICT' ? padded.replace(cell, c.verdict(cell)) : padded;
    })
    .join('  ')
    .trimEnd();
}

/** Hubble's compact form: one line per flow. */
export function compactLine(f: Flow, c: Colours = NO_COLOUR): string {
  const id = (n: number, ep?: FlowEndpoint) => (n || ep?.identity ? ` (ID:${n || ep?.identity})` : '');
  return `${shortTime(f)}: ${sourceText(f)}${id(f.sourceIdentity, f.source)} -> ${destinationText(f)}${id(f.destinationIdentity, f.destination)} ` +
    `${typeText(f)} ${c.verdict(f.verdict)} (${summaryText(f)})`;
}
