// `ebbflow observe`: reads flows from an agent's Observer gRPC API and prints
// them as a table, compact lines or JSON (one flow object per line).
import { parseArgs } from 'node:util';
import { connectObserver } from '../agent/flows/client.js';
import type { FlowFilter } from '../agent/flows/filter.js';
import {
  ANSI_COLOUR, compactLine, formatRow, NO_COLOUR, TABLE_HEADER, tableRow, type Colours,
} from '../agent/flows/format.js';
import { DEFAULT_FLOW_SERVER_ADDRESS } from '../agent/flows/server.js';
import type { Flow } from '../agent/flows/types.js';
import type { GetFlowsRequest, GetFlowsResponse } from '../agent/flows/wire.js';

const USAGE = `usage: ebbflow observe [flags]

  --server HOST:PORT   Observer gRPC address (default ${DEFAULT_FLOW_SERVER_ADDRESS})
  -f, --follow         keep printing new flows
  --last N             the last N matching flows (default 20 unless following or --since)
  --since T, --until T RFC 3339 time, epoch ns, or a duration ago (30s, 5m, 2h)
  -o, --output FMT     table (default), compact, json (one flow object per line)
  --no-color           never colour (colour is used only on a terminal)
filters (repeat a flag for alternatives; different flags must all match):
  --namespace NS  --pod [NS/]NAME-PREFIX  --from-pod ..  --to-pod ..
  --label K=V[,K2=V2]  --from-label ..  --to-label ..  --identity N
  --ip A[/LEN]  --from-ip ..  --to-ip ..  --port N  --from-port N  --to-port N
  --protocol tcp|udp|icmp  --verdict FORWARDED|TRANSLATED|DROPPED|allowed|denied
  --drop-reason NAME  --direction ingress|egress  --service [NS/]NAME  --node NAME
  --type trace|drop|policy-verdict|translation|trace:socket-translation|trace:tc-translation
`;

export interface ObserveIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  /** Stops a --follow run (the CLI wires SIGINT/SIGTERM to it when absent). */
  signal?: AbortSignal;
  now?: () => number;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A --since/--until value as the wire's time string (durations are "that long ago"). */
export function timeArg(v: string | undefined, now: number): string | undefined {
  if (v === undefined) return undefined;
  const m = v.match(DURATION);
  if (m) return new Date(now - Number(m[1]) * UNIT_MS[m[2]]).toISOString();
  return v;
}

class UsageError extends Error {}

function ints(vals: string[] | undefined, flag: string): number[] | undefined {
  return vals?.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag}: "${v}" is not a non-negative integer`);
    return n;
  });
}

/** Turns argv into the GetFlows request and output options. */
export function parseObserveArgs(argv: string[], now = Date.now()): { server: string; output: string; color?: boolean; request: GetFlowsRequest } | 'help' {
  const list = { type: 'string', multiple: true } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, last: { type: 'string' },
      since: { type: 'string' }, until: { type: 'string' }, output: { type: 'string', short: 'o' },
      'no-color': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      namespace: list, pod: list, 'from-pod': list, 'to-pod': list, label: list, 'from-label': list, 'to-label': list,
      identity: list, ip: list, 'from-ip': list, 'to-ip': list, port: list, 'from-port': list, 'to-port': list,
      protocol: list, verdict: list, 'drop-reason': list, direction: list, service: list, type: list, node: list,
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const output = values.output ?? 'table';
  if (!['table', 'json', 'compact'].includes(output)) throw new UsageError(`-o: "${output}" is not table, json or compact`);
  const filter: FlowFilter = {
    namespace: values.namespace, pod: values.pod, sourcePod: values['from-pod'], destinationPod: values['to-pod'],
    label: values.label, sourceLabel: values['from-label'], destinationLabel: values['to-label'],
    identity: ints(values.identity, '--identity'), ip: values.ip, sourceIp: values['from-ip'], destinationIp: values['to-ip'],
    port: ints(values.port, '--port'), sourcePort: ints(values['from-port'], '--from-port'), destinationPort: ints(values['to-port'], '--to-port'),
    protocol: values.protocol, verdict: values.verdict, dropReason: values['drop-reason'], direction: values.direction,
    service: values.service, type: values.type, node: values.node,
  };
  for (const k of Object.keys(filter) as (keyof FlowFilter)[]) if (filter[k] === undefined) delete filter[k];
  const follow = values.follow === true;
  let last = ints(values.last === undefined ? undefined : [values.last], '--last')?.[0];
  if (last === undefined && !follow && values.since === undefined) last = 20;
  const request: GetFlowsRequest = { follow, include: Object.keys(filter).length ? [filter] : [] };
  if (last !== undefined) request.last = last;
  const since = timeArg(values.since, now);
  const until = timeArg(values.until, now);
  if (since) request.since = since;
  if (until) request.until = until;
  return { server: values.server ?? DEFAULT_FLOW_SERVER_ADDRESS, output, color: values['no-color'] ? false : undefined, request };
}

const FOLLOW_WIDTHS = [19, 28, 28, 18, 10];

/** Runs `ebbflow observe`; returns the exit code (0 ok, 1 server error, 2 usage). */
export async function runObserve(argv: string[], io: ObserveIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let opts: ReturnType<typeof parseObserveArgs>;
  try {
    opts = parseObserveArgs(argv, io.now?.() ?? Date.now());
  } catch (err) {
    io.stderr.write(`ebbflow observe: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const { output, request } = opts;
  const colours: Colours = opts.color !== false && io.stdout.isTTY ? ANSI_COLOUR : NO_COLOUR;
  const client = connectObserver(opts.server);
  const call = client.getFlows(request);
  const ac = new AbortController();
  const stopSignals = !io.signal;
  const onSignal = () => ac.abort();
  if (stopSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  io.signal?.addEventListener('abort', onSignal, { once: true });
  ac.signal.addEventListener('abort', () => call.cancel(), { once: true });

  const rows: string[][] = [];
  let headerDone = false;
  const emit = (f: Flow) => {
    if (output === 'json') io.stdout.write(JSON.stringify(f) + '\n');
    else if (output === 'compact') io.stdout.write(compactLine(f, colours) + '\n');
    else if (!request.follow) rows.push(tableRow(f));
    else {
      if (!headerDone) io.stdout.write(formatRow(TABLE_HEADER, FOLLOW_WIDTHS, colours) + '\n');
      headerDone = true;
      io.stdout.write(formatRow(tableRow(f), FOLLOW_WIDTHS, colours) + '\n');
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      call.on('data', (m: GetFlowsResponse) => {
        if ('flow' in m) emit(m.flow);
        else io.stderr.write(`ebbflow observe: lost ${m.lost.count} flows (seq ${m.lost.fromSeq}-${m.lost.toSeq}): the server overwrote them before this client read them\n`);
      });
      call.on('end', resolve);
      call.on('error', (e: Error & { code?: number; details?: string }) => (e.code === 1 && ac.signal.aborted ? resolve() : reject(e)));
    });
  } catch (err) {
    const e = err as Error & { code?: number; details?: string };
    io.stderr.write(`ebbflow observe: ${opts.server}: ${e.details || e.message}\n`);
    return e.code === 3 ? 2 : 1; // 3 = INVALID_ARGUMENT: a filter the server refused
  } finally {
    if (stopSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    client.close();
  }
  if (output === 'table' && !request.follow) {
    const all = [[...TABLE_HEADER], ...rows];
    const widths = TABLE_HEADER.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    for (const r of all) io.stdout.write(formatRow(r, widths, colours) + '\n');
  }
  return 0;
}
