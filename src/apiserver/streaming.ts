// pods/<name>/exec, attach and portforward: upgrade requests (WebSocket or
// SPDY, passed through untouched) relayed to the node's kubelet at the
// standard kubelet paths (/exec, /attach, /portForward).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import type { Registry } from '../api/registry.js';
import { ApiError, asApiError, errors, toStatus } from './errors.js';
import type { Objects } from './objects.js';
import { kubeletAddress, type KubeletClient } from './podlog.js';
import type { ResourceRequest } from './rest.js';

const KUBELET_PATH: Record<string, string> = { exec: 'exec', attach: 'attach', portforward: 'portForward' };

/** Writes a Status response on a raw socket (before any upgrade happened). */
export function rejectUpgrade(socket: Duplex, err: unknown): void {
  const e = asApiError(err);
  const body = JSON.stringify(toStatus(e));
  const reason = e.status === 401 ? 'Unauthorized' : e.status === 403 ? 'Forbidden' : e.status === 404 ? 'Not Found' : e.status >= 500 ? 'Internal Server Error' : 'Bad Request';
  socket.end(`HTTP/1.1 ${e.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** True for the subresources served by relaying an upgrade to the kubelet. */
export function isStreaming(rr: ResourceRequest | undefined): boolean {
  return !!rr && rr.group === '' && rr.plural === 'pods' && !!rr.name && !!rr.subresource && rr.subresource in KUBELET_PATH;
}

/** Relays an upgrade request for a pod to its kubelet, then pipes bytes both ways. */
export async function relayToKubelet(objects: Objects, registry: Registry, client: KubeletClient, rr: ResourceRequest, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const ns = rr.namespace ?? '';
  const name = rr.name ?? '';
  const pod = await objects.get(registry.byPlural('', 'v1', 'pods')!, ns, name);
  const spec = pod.spec as { nodeName?: string; containers?: { name: string }[] };
  if (!spec.nodeName) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  const url = new URL(req.url ?? '/', 'https://localhost');
  const q = url.searchParams;
  let target = `/${KUBELET_PATH[rr.subresource!]}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  if (rr.subresource !== 'portforward') {
    const names = (spec.containers ?? []).map((c) => c.name);
    let container = q.get('container') ?? pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? '';
    if (!container) {
      if (names.length !== 1) throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
      container = names[0];
    }
    if (!names.includes(container)) throw errors.badRequest(`container ${container} is not valid for pod ${name}`);
    target += `/${encodeURIComponent(container)}`;
    q.delete('container');
  }
  const qs = q.toString();
  if (qs) target += `?${qs}`;
  const node = await objects.get(registry.byPlural('', 'v1', 'nodes')!, undefined, spec.nodeName);
  const where = kubeletAddress(node);
  if (!where) throw errors.badRequest(`node ${spec.nodeName} has no address to reach its kubelet`);
  await new Promise<void>((resolve, reject) => {
    const up = connect({ host: where.host, port: where.port, cert: client.cert, key: client.key, rejectUnauthorized: false }, () => {
      const lines = [`GET ${target} HTTP/1.1`, `Host: ${where.host}:${where.port}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i];
        if (!/^(host|authorization|content-length)$/i.test(k)) lines.push(`${k}: ${req.rawHeaders[i + 1]}`);
      }
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
      resolve();
    });
    up.on('error', (err) => reject(new ApiError(500, 'InternalError', `error dialing kubelet ${where.host}:${where.port}: ${err.message}`)));
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
    up.on('close', () => socket.destroy());
  });
}
