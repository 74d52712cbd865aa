// kubectl exec through the API server to a (fake) kubelet speaking WebSocket v5.channel.k8s.io.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { request } from 'node:https';
import { join } from 'node:path';
import { adminCredentials, startTestServer, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;
let kubelet: Server;
const paths: string[] = [];

function frame(channel: number, data: string): Buffer {
  const payload = Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);
  return Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
}

beforeAll(async () => {
  s = await startTestServer();
  const pki = (f: string) => readFileSync(join(s.dir, 'pki', f), 'utf8');
  kubelet = createServer({ cert: pki('server.crt'), key: pki('server.key') }, (_req, res) => {
    res.writeHead(400);
    res.end('upgrade required');
  });
  kubelet.on('upgrade', (req, socket) => {
    paths.push(req.url ?? '');
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`);
    const cmd = new URL(req.url ?? '/', 'https://x').searchParams.getAll('command').join(' ');
    socket.write(frame(1, `ran: ${cmd}\n`));
    socket.write(frame(3, JSON.stringify({ metadata: {}, status: 'Success' })));
    socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
  });
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', () => r()));
  const port = (kubelet.address() as { port: number }).port;
  await s.request('POST', '/api/v1/nodes', { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } });
  await s.request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
  await s.request('POST', '/api/v1/namespaces/default/pods/web/binding', { metadata: { name: 'web' }, target: { kind: 'Node', name: 'n1' } });
});
afterAll(async () => {
  await s?.close();
  kubelet?.closeAllConnections();
  await new Promise((r) => kubelet?.close(r));
});

describe('pod exec', () => {
  it('relays kubectl exec to the kubelet /exec endpoint', async () => {
    const r = await s.kubectl(['exec', 'web', '--', 'echo', 'hi']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ran: echo hi\n');
    expect(r.code).toBe(0);
    expect(paths[0]).toMatch(/^\/exec\/default\/web\/app\?/);
    expect(paths[0]).toContain('command=echo&command=hi');
  });

  it('refuses upgrades for unknown pods, unbound pods and anonymous callers with a Status', async () => {
    await s.request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'pending' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
    const upgrade = (path: string, withCert = true) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const c = adminCredentials(s.dir);
        const u = new URL(path, s.handle.url);
        const req = request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, ca: c.ca, cert: withCert ? c.cert : undefined, key: withCert ? c.key : undefined, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('upgrade', () => reject(new Error('unexpected upgrade')));
        req.on('error', reject);
        req.end();
      });
    const ghost = await upgrade('/api/v1/namespaces/default/pods/ghost/exec?command=true');
    expect(ghost.status).toBe(404);
    expect(JSON.parse(ghost.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'pods "ghost" not found' });
    const pending = await upgrade('/api/v1/namespaces/default/pods/pending/exec?command=true');
    expect(pending.status).toBe(400);
    expect(JSON.parse(pending.body).message).toBe('pod pending does not have a host assigned');
    expect((await upgrade('/api/v1/namespaces/default/pods/web/exec?command=true', false)).status).toBe(401);
    expect((await upgrade('/api/v1/namespaces/default/configmaps')).status).toBe(404);
  });
});
