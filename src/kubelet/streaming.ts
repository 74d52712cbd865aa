// The kubelet's streaming endpoints, served as the upstream kubelet does
// since it stopped redirecting: /exec/<ns>/<pod>[/<uid>]/<container>,
// /attach/... and /portForward/<ns>/<pod>[/<uid>] ask the runtime for a URL
// on its streaming server (CRI Exec / Attach / PortForward) and proxy the
// client's upgrade there untouched, so SPDY/3.1 with channel.k8s.io v4 (stdin
// half-close, the resize stream, the exit-code Status) or portforward.k8s.io
// (one stream pair per forwarded connection) is spoken end to end by kubectl
// and containerd.
//
// containerd 1.6 has no v5.channel.k8s.io and no WebSocket port-forward
// tunnel, which is what kubectl 1.32 tries first. Interactive and port-forward
// WebSocket upgrades are therefore refused before the 101, and kubectl falls
// back to SPDY exactly as it does against a pre-1.29 cluster. A WebSocket exec
// without stdin or tty is still answered in place by CRI ExecSync (exec.ts):
// one round trip instead of a refused upgrade plus a second one, and the only
// path for WebSocket-only clients; its output arrives when the command ends.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Pod } from '../api/core.js';
import type { CriClient } from './cri/client.js';
import { CriError } from './cri/errors.js';
import type { StreamFlags } from './cri/types.js';
import { serveExec } from './exec.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_UID } from './pod-spec.js';
import { dialIn, runtimeNetns } from './stream-dial.js';

export interface StreamingDeps {
  cri: CriClient;
  findPod(namespace: string, name: string): Pod | undefined;
}

type Kind = 'exec' | 'attach' | 'portForward';

interface Route {
  kind: Kind;
  namespace: string;
  pod: string;
  uid?: string;
  container?: string;
}

/** A refusal sent as a Status before any upgrade (kubectl prints it as "Error from server (Reason): message"). */
export class StreamError extends Error {
  readonly code = 'KUBELET_ERR_STREAM';
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
    this.name = 'StreamError';
  }
}

const HTTP_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway' };

function refuse(socket: Duplex, e: StreamError): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.status });
  socket.end(`HTTP/1.1 ${e.status} ${HTTP_TEXT[e.status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Parses the upstream kubelet paths; undefined for anything else. */
export function parseStreamPath(pathname: string): Route | undefined {
  const m = /^\/(exec|attach|portForward)\/(.+)$/.exec(pathname);
  if (!m) return undefined;
  const kind = m[1] as Kind;
  const parts = m[2]!.split('/').map(decodeURIComponent);
  if (parts.some((p) => !p)) return undefined;
  if (kind === 'portForward') {
    if (parts.length < 2 || parts.length > 3) return undefined;
    return { kind, namespace: parts[0]!, pod: parts[1]!, uid: parts[2] };
  }
  if (parts.length < 3 || parts.length > 4) return undefined;
  return { kind, namespace: parts[0]!, pod: parts[1]!, uid: parts.length === 4 ? parts[2] : undefined, container: parts[parts.length - 1] };
}

/** stdin/stdout/stderr/tty from the query ("true" as the API server passes it, "1" as kube-apiserver does). */
export function streamFlags(q: URLSearchParams): StreamFlags {
  const on = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
  const tty = on('tty');
  // A terminal merges stderr into stdout; the runtime refuses both at once.
  return { stdin: on('stdin'), stdout: on('stdout'), stderr: on('stderr') && !tty, tty };
}

function criFailure(err: unknown): StreamError {
  if (err instanceof StreamError) return err;
  if (err instanceof CriError) return new StreamError(err.notFound ? 404 : 500, err.notFound ? 'NotFound' : 'InternalError', err.message);
  return new StreamError(500, 'InternalError', (err as Error).message);
}

function findPod(d: StreamingDeps, r: Route): Pod {
  const pod = d.findPod(r.namespace, r.pod);
  if (!pod || (r.uid && pod.metadata.uid !== r.uid)) throw new StreamError(404, 'NotFound', `pod ${r.namespace}/${r.pod} not found on this node`);
  return pod;
}

async function runningContainer(d: StreamingDeps, pod: Pod, name: string): Promise<string> {
  const known = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].some((c) => c.name === name);
  if (!known) throw new StreamError(400, 'BadRequest', `container ${name} is not valid for pod ${pod.metadata.name}`);
  const sel = { [LABEL_POD_UID]: pod.metadata.uid!, [LABEL_CONTAINER_NAME]: name };
  const [c] = await d.cri.listContainers({ labelSelector: sel, state: { state: 'CONTAINER_RUNNING' } });
  if (c) return c.id;
  const any = await d.cri.listContainers({ labelSelector: sel });
  const why = any.length ? 'has exited' : 'has not started yet';
  throw new StreamError(400, 'BadRequest', `container ${name} in pod ${pod.metadata.name} is not running (it ${why})`);
}

/** Asks the runtime for the streaming URL that serves this request. */
async function streamUrl(d: StreamingDeps, r: Route, q: URLSearchParams): Promise<string> {
  const pod = findPod(d, r);
  if (r.kind === 'portForward') {
    const [sb] = await d.cri.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: pod.metadata.uid! }, state: { state: 'SANDBOX_READY' } });
    if (!sb) throw new StreamError(400, 'BadRequest', `pod ${r.pod} has no running sandbox`);
    // SPDY names the port on each stream; only WebSocket clients list them in the query.
    const ports = q.getAll('port').flatMap((p) => p.split(',')).filter((p) => /^\d+$/.test(p)).map(Number);
    return d.cri.portForward(sb.id, ports);
  }
  const flags = streamFlags(q);
  if (!flags.stdin && !flags.stdout && !flags.stderr) throw new StreamError(400, 'BadRequest', 'you must specify at least 1 of stdin, stdout, stderr');
  const id = await runningContainer(d, pod, r.container!);
  if (r.kind === 'attach') return d.cri.attach(id, flags);
  const cmd = q.getAll('command');
  if (cmd.length === 0) throw new StreamError(400, 'BadRequest', 'you must specify a command to exec');
  return d.cri.exec(id, cmd, flags);
}

/** Pipes the upgrade request to the runtime's URL and the bytes both ways; a failed dial becomes a 502 Status. */
function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: URL, netns: string | undefined): void {
  const up = dialIn(netns, target.hostname, Number(target.port || 80));
  const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i]!;
    if (!/^(host|authorization|content-length)$/i.test(k)) lines.push(`${k}: ${req.rawHeaders[i + 1]}`);
  }
  up.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length) up.write(head);
  let answered = false;
  up.on('data', (b: Buffer) => {
    answered = true;
    if (!socket.write(b)) {
      up.pause();
      socket.once('drain', () => up.resume());
    }
  });
  up.on('end', () => socket.end());
  up.on('error', (err) => {
    if (!answered) refuse(socket, new StreamError(502, 'InternalError', `error dialing the container runtime's streaming server ${target.host}: ${err.message}`));
    else socket.destroy();
  });
  socket.pipe(up);
  socket.on('close', () => up.destroy());
}

/** Serves one upgrade request to /exec, /attach or /portForward; always ends or hands off the socket. */
export async function serveStreaming(req: IncomingMessage, socket: Duplex, head: Buffer, d: StreamingDeps): Promise<void> {
  socket.on('error', () => undefined);
  const url = new URL(req.url ?? '/', 'https://kubelet');
  const route = parseStreamPath(url.pathname);
  if (!route) return refuse(socket, new StreamError(404, 'NotFound', `no streaming endpoint at ${url.pathname}`));
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'websocket') {
    const f = streamFlags(url.searchParams);
    if (route.kind === 'exec' && !f.stdin && !f.tty) {
      return serveExec(req, socket, async (ns, name, container, cmd) => {
        const id = await runningContainer(d, findPod(d, { ...route, namespace: ns, pod: name }), container);
        return d.cri.execSync(id, cmd, 60);
      });
    }
    return refuse(socket, new StreamError(400, 'BadRequest', `${route.kind === 'portForward' ? 'port-forward' : route.kind === 'attach' ? 'attach' : 'interactive exec'} over WebSocket is not served by this node (containerd's streaming server speaks SPDY/3.1 and WebSocket channel.k8s.io up to v4 only); retry with SPDY/3.1`));
  }
  if (!upgrade.startsWith('spdy/')) return refuse(socket, new StreamError(400, 'BadRequest', `${url.pathname} needs an upgrade to SPDY/3.1 (or WebSocket for non-interactive exec)`));
  let target: URL;
  try {
    target = new URL(await streamUrl(d, route, url.searchParams));
  } catch (err) {
    return refuse(socket, criFailure(err));
  }
  // A loopback URL is loopback in the runtime's network namespace, which may not be ours.
  const loopback = /^(127\.|localhost$|\[::1\]$)/.test(target.hostname);
  proxyUpgrade(req, socket, head, target, loopback ? runtimeNetns(d.cri.address) : undefined);
}
