// Test helpers: an in-process API server on a free loopback port with a temp
// data dir, and a kubectl runner pointed at its kubeconfig.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, type ApiServerHandle } from '../../src/apiserver/server.js';
import type { ApiServerConfig } from '../../src/apiserver/config.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Credentials {
  ca: string;
  cert: string;
  key: string;
}

/** Admin client credentials from a data dir's pki. */
export function adminCredentials(dir: string): Credentials {
  const read = (f: string) => readFileSync(join(dir, 'pki', f), 'utf8');
  return { ca: read('ca.crt'), cert: read('admin.crt'), key: read('admin.key') };
}

/** One HTTPS request with the admin client certificate (or none when creds.cert is empty). */
export function rawRequest(url: string, creds: Credentials, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const req = httpsRequest(
      { hostname: u.hostname, port: u.port, path: u.pathname + u.search, method, ca: creds.ca, cert: creds.cert || undefined, key: creds.key || undefined, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export interface TestServer {
  handle: ApiServerHandle;
  dir: string;
  kubeconfig: string;
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
  close(): Promise<void>;
}

/** Starts a server with a fresh data dir; close() stops it and removes the dir. */
export async function startTestServer(extra: Partial<ApiServerConfig> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ebbflow-apiserver-'));
  const handle = await start({ dataDir: dir, bind: '127.0.0.1', port: 0, ...extra });
  const kubeconfig = handle.kubeconfigPath;
  return {
    handle,
    dir,
    kubeconfig,
    kubectl(args, input) {
      return new Promise((resolve) => {
        const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kubectl-cache'), ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
          const code = err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        });
        if (input !== undefined) {
          child.stdin?.end(input);
        }
      });
    },
    request(method, path, body, headers) {
      const text = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      return rawRequest(handle.url, adminCredentials(dir), method, path, text, headers);
    },
    async close() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
