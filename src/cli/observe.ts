// `ebbflow observe`: reads flows from an agent's Observer gRPC API and prints
// them as a table, compact lines or JSON (one flow object per line).
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { AGENT_FLOWS_PORT, planCluster } from '../cluster/plan.js';
import { readState } from '../cluster/up.js';
import { connectObserver } from '../agent/flows/client.js';
import type { FlowFilter } from '../agent/flows/filter.js';
import {
  ANSI_COLOUR, compactLine, formatRow, NO_COLOUR, TABLE_HEADER, tableRow, type Colours,
} from '../agent/flows/format.js';
import { DEFAULT_FLOW_SERVER_ADDRESS } from '../agent/flows/server.js';
import type { Flow } from '../agent/flows/types.js';
import type { GetFlowsRequest, GetFlowsResponse } from '../agent/flows/wire.js';

const USAGE = `usage: ebbflow observe [flags]

  --server HOST:PORT[,HOST:PORT]  Observer gRPC address(es); several are merged by time
                       (default: every node of the local cluster of \`ebbflow up\`, else ${DEFAULT_FLOW_SERVER_ADDRESS})
  --data-dir DIR       the local cluster to observe (default /var/lib/ebbflow)
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
export function parseObserveArgs(argv: string[], now = Date.now()): { servers: string[] | undefined; dataDir?: string; output: string; color?: boolean; request: GetFlowsRequest } | 'help' {
  const list = { type: 'string', multiple: true } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string', multiple: true }, 'data-dir': { type: 'string' }, follow: { type: 'boolean', short: 'f' }, last: { type: 'string' },
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
  const servers = values.server?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return { servers: servers?.length ? servers : undefined, dataDir: values['data-dir'], output, color: values['no-color'] ? false : undefined, request };
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
  if (!opts.servers) {
    // With no --server: the agents of the local cluster, reached from inside
    // its fabric namespace (this command runs itself again there).
    const local = localClusterServers(opts.dataDir);
    if (local && process.env.EBBFLOW_OBSERVE_IN_FABRIC !== '1') return reexecInFabric(local.fabricNetns, argv, local.servers);
    opts.servers = [DEFAULT_FLOW_SERVER_ADDRESS];
  }
  const servers = opts.servers;
  const { output, request } = opts;
  const colours: Colours = opts.color !== false && io.stdout.isTTY ? ANSI_COLOUR : NO_COLOUR;
  const ac = new AbortController();
  const stopSignals = !io.signal;
  const onSignal = () => ac.abort();
  if (stopSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  io.signal?.addEventListener('abort', onSignal, { once: true });

  const rows: Flow[] = [];
  let headerDone = false;
  const print = (f: Flow) => {
    if (output === 'json') io.stdout.write(JSON.stringify(f) + '\n');
    else if (output === 'compact') io.stdout.write(compactLine(f, colours) + '\n');
    else {
      if (!headerDone) io.stdout.write(formatRow(TABLE_HEADER, FOLLOW_WIDTHS, colours) + '\n');
      headerDone = true;
      io.stdout.write(formatRow(tableRow(f), FOLLOW_WIDTHS, colours) + '\n');
    }
  };
  // Following prints as flows arrive; otherwise every server's answer is
  // collected and merged by time (the last N overall when --last is given).
  const emit = (f: Flow) => (request.follow ? print(f) : rows.push(f));
  const clients = servers.map((server) => ({ server, client: connectObserver(server) }));
  const failures: { server: string; err: Error & { code?: number; details?: string } }[] = [];
  try {
    await Promise.all(clients.map(({ server, client }) => new Promise<void>((resolve) => {
      const call = client.getFlows(request);
      ac.signal.addEventListener('abort', () => call.cancel(), { once: true });
      call.on('data', (m: GetFlowsResponse) => {
        if ('flow' in m) emit(m.flow);
        else io.stderr.write(`ebbflow observe: ${server}: lost ${m.lost.count} flows (seq ${m.lost.fromSeq}-${m.lost.toSeq}): the server overwrote them before this client read them\n`);
      });
      call.on('end', resolve);
      call.on('error', (e: Error & { code?: number; details?: string }) => {
        if (!(e.code === 1 && ac.signal.aborted)) failures.push({ server, err: e });
        resolve();
      });
    })));
  } finally {
    if (stopSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    for (const c of clients) c.client.close();
  }
  for (const f of failures) io.stderr.write(`ebbflow observe: ${f.server}: ${f.err.details || f.err.message}\n`);
  if (failures.length === clients.length) return failures.some((f) => f.err.code === 3) ? 2 : 1; // 3 = INVALID_ARGUMENT: a filter the server refused
  if (!request.follow) {
    rows.sort((a, b) => (BigInt(a.timeNs) < BigInt(b.timeNs) ? -1 : BigInt(a.timeNs) > BigInt(b.timeNs) ? 1 : 0));
    const keep = request.last !== undefined && clients.length > 1 ? rows.slice(-request.last) : rows;
    if (output !== 'table') for (const f of keep) print(f);
    else {
      const all = [[...TABLE_HEADER], ...keep.map(tableRow)];
      const widths = TABLE_HEADER.map((_, i) => Math.max(...all.map((r) => r[i].length)));
      for (const r of all) io.stdout.write(formatRow(r, widths, colours) + '\n');
    }
  }
  return failures.length ? 1 : 0;
}

/** The flow servers of the local cluster in dataDir, if there is one. */
export function localClusterServers(dataDir = '/var/lib/ebbflow'): { fabricNetns: string; servers: string[] } | undefined {
  const state = readState(dataDir);
  if (!state) return undefined;
  const plan = planCluster(state.options);
  return { fabricNetns: plan.fabric.netns, servers: plan.nodes.map((n) => `${n.ip}:${AGENT_FLOWS_PORT}`) };
}

/** Runs this observe again inside the fabric namespace, where the agents' flow APIs listen. */
function reexecInFabric(netns: string, argv: string[], servers: string[]): Promise<number> {
  const child = spawn('nsenter', [`--net=/var/run/netns/${netns}`, '--', process.execPath, process.argv[1]!, 'observe', ...argv, '--server', servers.join(',')], {
    stdio: 'inherit', env: { ...process.env, EBBFLOW_OBSERVE_IN_FABRIC: '1' },
  });
  // Ctrl-C reaches the child too (same process group); a SIGTERM for us is
  // passed on. Either way we wait for the child to finish printing.
  const ignore = () => undefined;
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
    child.on('error', (err) => {
      process.stderr.write(`ebbflow observe: cannot enter ${netns}: ${err.message}\n`);
      resolve(1);
    });
  });
}
