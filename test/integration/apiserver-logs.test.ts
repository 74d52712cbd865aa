// kubectl logs through the API server to a (fake) kubelet speaking the kubelet API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;
let kubelet: Server;
const seen: { path: string; cn: string }[] = [];

beforeAll(async () => {
  s = await startTestServer();
  // The fake kubelet borrows the API server's serving certificate.
  const pki = (f: string) => readFileSync(join(s.dir, 'pki', f), 'utf8');
  kubelet = createServer({ cert: pki('server.crt'), key: pki('server.key'), ca: pki('ca.crt'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
    seen.push({ path: req.url ?? '', cn: Array.isArray(cn) ? cn[0] : (cn ?? '') });
    if (!req.url?.startsWith('/containerLogs/default/web/app')) {
      res.writeHead(404);
      return res.end('no such container');
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(req.url.includes('tailLines=1') ? 'line2\n' : 'line1\nline2\n');
  });
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', () => r()));
  const port = (kubelet.address() as { port: number }).port;
  await s.request('POST', '/api/v1/nodes', { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } });
  await s.request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
  await s.request('POST', '/api/v1/namespaces/default/pods/web/binding', { metadata: { name: 'web' }, target: { kind: 'Node', name: 'n1' } });
  await s.request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'pending' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
});
afterAll(async () => {
  await s?.close();
  await new Promise((r) => kubelet?.close(r));
});

describe('pod logs', () => {
  it('streams container logs from the node kubelet with the kubelet-client identity', async () => {
    const r = await s.kubectl(['logs', 'web']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('line1\nline2\n');
    expect((await s.kubectl(['logs', 'web', '--tail=1'])).stdout).toBe('line2\n');
    expect(seen[0]).toEqual({ path: '/containerLogs/default/web/app', cn: 'kube-apiserver-kubelet-client' });
    expect(seen[1].path).toBe('/containerLogs/default/web/app?tailLines=1');
  });

  it('explains why logs are unavailable', async () => {
    expect((await s.kubectl(['logs', 'pending'])).stderr).toContain('pod pending does not have a host assigned');
    expect((await s.kubectl(['logs', 'web', '-c', 'nope'])).stderr).toContain('container nope is not valid for pod web');
  });
});
