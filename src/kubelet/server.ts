// The kubelet's HTTPS API for the API server: /healthz, the standard
// GET /containerLogs/<ns>/<pod>/<container> (follow, previous, timestamps,
// tailLines, limitBytes, sinceSeconds, sinceTime) and the streaming
// upgrades /exec, /attach and /portForward (streaming.ts). Clients must present a
// certificate signed by the cluster CA (the API server's kubelet-client).
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pod } from '../api/core.js';
import type { CriClient } from './cri/client.js';
import { containerLogFile, parseCriLog, podLogDir, readFrom, renderLog, type LogOptions } from './logs.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_UID } from './pod-spec.js';
import { serveStreaming } from './streaming.js';

export interface KubeletServerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  cert: string;
  key: string;
  /** CA that signs the clients allowed in (the API server's kubelet-client certificate). */
  clientCA: string;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

interface Deps {
  logRoot: string;
  cri: CriClient;
  findPod(namespace: string, name: string): Pod | undefined;
}

function fail(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain' });
  res.end(`${message}\n`);
}

function logOptions(q: URLSearchParams): LogOptions {
  const num = (k: string) => (q.has(k) && /^\d+$/.test(q.get(k)!) ? Number(q.get(k)) : undefined);
  const since = num('sinceSeconds');
  const sinceTime = q.get('sinceTime');
  return {
    timestamps: q.get('timestamps') === 'true',
    tailLines: num('tailLines'),
    limitBytes: num('limitBytes'),
    sinceMs: since !== undefined ? Date.now() - since * 1000 : sinceTime ? Date.parse(sinceTime) : undefined,
  };
}

async function serveLogs(d: Deps, req: IncomingMessage, res: ServerResponse, ns: string, name: string, container: string, q: URLSearchParams): Promise<void> {
  const pod = d.findPod(ns, name);
  if (!pod) return fail(res, 404, `pod ${ns}/${name} not found on this node`);
  if (!pod.spec.containers.some((c) => c.name === container) && !(pod.spec.initContainers ?? []).some((c) => c.name === container)) {
    return fail(res, 400, `container ${container} is not valid for pod ${name}`);
  }
  const dir = podLogDir(d.logRoot, pod.metadata.uid!);
  const previous = q.get('previous') === 'true';
  const file = dir ? containerLogFile(dir, container, previous) : undefined;
  if (!file) return fail(res, 400, previous ? `previous terminated container "${container}" in pod "${name}" not found` : `container "${container}" in pod "${name}" is waiting to start`);
  const opts = logOptions(q);
  let { text, offset } = await readFrom(file, 0);
  const first = parseCriLog(text);
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.write(renderLog(first.lines, opts));
  if (q.get('follow') !== 'true' || previous) return void res.end();
  let rest = first.rest;
  let closed = false;
  req.on('close', () => {
    closed = true;
  });
  const follow = { ...opts, tailLines: undefined, limitBytes: undefined };
  while (!closed) {
    await new Promise((r) => setTimeout(r, 250));
    ({ text, offset } = await readFrom(file, offset));
    if (text) {
      const p = parseCriLog(rest + text);
      rest = p.rest;
      if (p.lines.length) res.write(renderLog(p.lines, follow));
      continue;
    }
    // Nothing new: stop once this attempt's container is no longer running (or a newer attempt has a file).
    const running = await d.cri.listContainers({ labelSelector: { [LABEL_POD_UID]: pod.metadata.uid!, [LABEL_CONTAINER_NAME]: container }, state: { state: 'CONTAINER_RUNNING' } }).catch(() => []);
    if (running.length === 0 || containerLogFile(dir!, container) !== file) break;
  }
  res.end();
}

/** Starts the kubelet API; resolves once it listens. */
export async function startKubeletServer(config: KubeletServerConfig, d: Deps): Promise<KubeletServer> {
  const server: Server = createServer({ cert: config.cert, key: config.key, ca: config.clientCA, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    if (req.method !== 'GET') return fail(res, 405, 'method not allowed');
    if (url.pathname === '/healthz') return fail(res, 200, 'ok');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!m) return fail(res, 404, 'not found');
    const [ns, name, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
    serveLogs(d, req, res, ns, name, container, url.searchParams).catch((err: Error) => {
      if (!res.headersSent) fail(res, 500, err.message);
      else res.end();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    serveStreaming(req, socket, head, d).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
