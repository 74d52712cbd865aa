// HTTPS transport to the API server: JSON requests with the kubeconfig's
// client certificate or token over one keep-alive agent, and raw streaming
// responses for watches. Failures become ClientError values.
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Status } from '../api/meta.js';
import { ClientError, httpError } from './errors.js';
import type { ConnectionConfig } from './kubeconfig.js';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** The transport every typed call goes through; tests may wrap it. */
export interface Transport {
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  /** Opens a streaming GET; resolves with the response once headers arrive (status 200). */
  stream(path: string, opts?: RequestOptions): Promise<IncomingMessage>;
  close(): void;
}

function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

const REQUEST_IDLE_TIMEOUT_MS = 60_000;

/** Creates the HTTPS transport for one API server. */
export function createTransport(conn: ConnectionConfig): Transport {
  const url = new URL(conn.server);
  // No socket cap: every open watch holds one connection, and a cap would queue requests behind them.
  const agent = new Agent({ keepAlive: true, ca: conn.ca, cert: conn.cert, key: conn.key });
  const baseHeaders: Record<string, string> = { Accept: 'application/json', 'User-Agent': conn.userAgent ?? 'ebbflow-client' };
  if (conn.token) baseHeaders.Authorization = `Bearer ${conn.token}`;

  function open(method: string, path: string, opts: RequestOptions, idleTimeoutMs?: number): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new ClientError('CLIENT_ERR_ABORTED', 'request aborted'));
      const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
      const headers = { ...baseHeaders };
      if (body) {
        headers['Content-Type'] = opts.contentType ?? 'application/json';
        headers['Content-Length'] = String(body.length);
      }
      const req = httpsRequest({ agent, hostname: url.hostname, port: url.port || 443, method, path: withQuery(path, opts.query), headers, signal: opts.signal }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AbortError') reject(new ClientError('CLIENT_ERR_ABORTED', 'request aborted'));
        else reject(new ClientError('CLIENT_ERR_NETWORK', `${method} ${path}: ${err.message}`));
      });
      // A hung server must not wedge a worker forever; watches (no timeout) end on their own schedule.
      if (idleTimeoutMs) req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no response in ${idleTimeoutMs} ms`)));
      if (body) req.write(body);
      req.end();
    });
  }

  async function readBody(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  function parseStatus(text: string): Status | undefined {
    try {
      const o = JSON.parse(text) as Status;
      return o && o.kind === 'Status' ? o : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
      const res = await open(method, path, opts, REQUEST_IDLE_TIMEOUT_MS);
      let text: string;
      try {
        text = await readBody(res);
      } catch (err) {
        throw new ClientError(opts.signal?.aborted ? 'CLIENT_ERR_ABORTED' : 'CLIENT_ERR_NETWORK', `${method} ${path}: ${(err as Error).message}`);
      }
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) throw httpError(status, parseStatus(text), `${method} ${path}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async stream(path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
      const res = await open('GET', path, opts);
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        const text = await readBody(res).catch(() => '');
        throw httpError(status, parseStatus(text), `GET ${path}`);
      }
      return res;
    },
    close() {
      agent.destroy();
    },
  };
}
