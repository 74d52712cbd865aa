// pods/<name>/log: proxies to the kubelet of the pod's node over the standard
// kubelet API (GET /containerLogs/<ns>/<pod>/<container>), streaming the body.
// The kubelet is found from the Node's InternalIP and daemonEndpoints port;
// its serving certificate is not verified (as kube-apiserver without
// --kubelet-certificate-authority), the server presents its kubelet-client cert.
import type { ServerResponse } from 'node:http';
import { request } from 'node:https';
import type { KubeObject } from '../api/meta.js';
import type { Registry } from '../api/registry.js';
import { ApiError, errors } from './errors.js';
import type { Objects } from './objects.js';

export interface KubeletClient {
  cert: string;
  key: string;
}

const PASS = ['follow', 'previous', 'timestamps', 'tailLines', 'limitBytes', 'sinceSeconds', 'sinceTime'];

/** Where a node's kubelet listens. */
export function kubeletAddress(node: KubeObject): { host: string; port: number } | undefined {
  const st = node.status as { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } | undefined;
  const addr = st?.addresses?.find((a) => a.type === 'InternalIP') ?? st?.addresses?.find((a) => a.type === 'Hostname') ?? st?.addresses?.[0];
  if (!addr) return undefined;
  return { host: addr.address, port: st?.daemonEndpoints?.kubeletEndpoint?.Port || 10250 };
}

/** Serves GET pods/<name>/log. */
export async function servePodLog(objects: Objects, registry: Registry, client: KubeletClient, ns: string, name: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const pod = await objects.get(registry.byPlural('', 'v1', 'pods')!, ns, name);
  const spec = pod.spec as { nodeName?: string; containers?: { name: string }[]; initContainers?: { name: string }[] };
  const names = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name);
  let container = q.get('container') ?? '';
  if (!container) {
    if ((spec.containers ?? []).length !== 1) throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    container = spec.containers![0].name;
  }
  if (!names.includes(container)) throw errors.badRequest(`container ${container} is not valid for pod ${name}`);
  if (!spec.nodeName) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  const node = await objects.get(registry.byPlural('', 'v1', 'nodes')!, undefined, spec.nodeName);
  const where = kubeletAddress(node);
  if (!where) throw errors.badRequest(`node ${spec.nodeName} has no address to reach its kubelet`);
  for (const [k, v] of q) if (PASS.includes(k) && !/^[\w:.+-]*$/.test(v)) throw errors.badRequest(`invalid ${k}: ${JSON.stringify(v)}`);
  const params = new URLSearchParams([...q].filter(([k]) => PASS.includes(k)));
  const path = `/containerLogs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}${params.size ? `?${params}` : ''}`;
  await new Promise<void>((resolve) => {
    const up = request({ host: where.host, port: where.port, path, method: 'GET', cert: client.cert, key: client.key, rejectUnauthorized: false, timeout: 10_000 }, (kr) => {
      res.writeHead(kr.statusCode ?? 502, { 'Content-Type': kr.headers['content-type'] ?? 'text/plain', 'Transfer-Encoding': 'chunked' });
      kr.pipe(res);
      kr.on('end', resolve);
      kr.on('error', () => resolve());
    });
    res.on('close', () => {
      up.destroy();
      resolve();
    });
    up.on('timeout', () => up.destroy(new Error('timeout')));
    up.on('error', (err) => {
      if (!res.headersSent) {
        const e = new ApiError(500, 'InternalError', `Get "https://${where.host}:${where.port}${path}": ${err.message}`);
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: 500 }));
      } else res.end();
      resolve();
    });
    up.end();
  });
}
