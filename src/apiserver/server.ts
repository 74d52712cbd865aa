// The API server: TLS listener, authentication, routing to discovery,
// OpenAPI and REST handlers, default namespaces, compaction, clean stop.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { createRegistry } from '../api/registry.js';
import { createLogger, forComponent, type Logger } from '../log/logger.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createAuthenticator } from './authn.js';
import { bootstrap } from './bootstrap.js';
import { ensurePki, writeClientKubeconfig, writeKubeconfig } from './certs.js';
import type { ApiServerConfig, ApiServerHandle } from './config.js';
import { aggregated, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './discovery.js';
import { ApiError, asApiError, errors } from './errors.js';
import { sendError, sendJson, sendText } from './http.js';
import { startHousekeeping } from './housekeeping.js';
import { isStreaming, rejectUpgrade, relayToKubelet } from './streaming.js';
import { createMetrics } from './metrics.js';
import { ensureSelfService, firstServiceIP } from './selfservice.js';
import { loadTokenSigner, tokenUser } from './satoken.js';
import { Objects } from './objects.js';
import { openApiV2, openApiV3Doc, openApiV3Index } from './openapi.js';
import { createRbacAuthorizer, forbiddenMessage, type Attributes } from './authz/rbac.js';
import { handleResource, parseResourcePath, requestAttributes, type RestContext } from './rest.js';

export type { ApiServerConfig, ApiServerHandle } from './config.js';

export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-ebbflow', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'node', compiler: 'tsc', platform: `${process.platform}/${process.arch}` };

const ANONYMOUS_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

/** Verb and resource labels for metrics (resource "" for non-resource paths). */
function describeRequest(req: IncomingMessage): { verb: string; resource: string } {
  const url = new URL(req.url ?? '/', 'https://localhost');
  let segments: string[];
  try {
    segments = url.pathname.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
  } catch {
    return { verb: (req.method ?? 'GET').toLowerCase(), resource: '' };
  }
  const rr = parseResourcePath(segments);
  if (!rr) return { verb: (req.method ?? 'GET').toLowerCase(), resource: '' };
  const a = requestAttributes(rr, req.method ?? 'GET', url.searchParams);
  return { verb: a.verb, resource: rr.subresource ? `${rr.plural}/${rr.subresource}` : rr.plural };
}

/** Starts the API server; resolves once it is listening and the kubeconfig is written. */
export async function start(config: ApiServerConfig): Promise<ApiServerHandle> {
  const log: Logger = forComponent(config.logger ?? createLogger(), 'apiserver');
  mkdirSync(config.dataDir, { recursive: true });
  const pki = await ensurePki(config.dataDir, config.bind);
  const store: Store = await openStore(config.datastore ?? { kind: 'sqlite', path: join(config.dataDir, 'state.db') });
  const registry = createRegistry();
  const objects = new Objects(store);
  await bootstrap(objects, registry);

  const open = new Set<() => void>();
  const authorizer = createRbacAuthorizer(store);
  const metrics = createMetrics(store);
  const signer = loadTokenSigner(config.dataDir);
  const ctx: RestContext = {
    authorizer,
    signer,
    kubelet: { cert: pki.kubeletClientCert, key: pki.kubeletClientKey },
    registry,
    store,
    objects,
    watch: {
      store,
      objects,
      bookmarkIntervalMs: config.bookmarkIntervalMs ?? 60_000,
      track(end) {
        open.add(end);
        return () => open.delete(end);
      },
    },
  };
  const saInfo = registry.byPlural('', 'v1', 'serviceaccounts')!;
  // A ServiceAccount token is valid while its signature, expiry and audience hold and the account still exists with the same uid.
  const resolveToken = async (token: string) => {
    const claims = signer.verify(token);
    if (!claims) return undefined;
    const ref = claims['kubernetes.io'];
    const sa = await objects.tryGet(saInfo, ref.namespace, ref.serviceaccount.name);
    if (!sa || sa.obj.metadata.uid !== ref.serviceaccount.uid) return undefined;
    return tokenUser(claims);
  };
  const authn = createAuthenticator({ [pki.adminToken]: { name: 'admin', groups: ['system:masters'] }, ...(config.tokens ? Object.fromEntries(Object.entries(config.tokens).map(([t, u]) => [t, { name: u.user, groups: u.groups }])) : {}) }, resolveToken);
  let address = `${config.bind}:${config.port}`;
  const v3hash = String(Date.now());

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const user = await authn.authenticate(req);
    if (!ANONYMOUS_PATHS.has(path) && !user) throw errors.unauthorized();
    const method = req.method ?? 'GET';
    let segments: string[];
    try {
      segments = path.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw errors.badRequest(`malformed URL path ${JSON.stringify(path)}`);
    }
    const rr = parseResourcePath(segments);
    if (user) {
      const attrs: Attributes = rr ? requestAttributes(rr, method, q) : { isResource: false, verb: method.toLowerCase(), path };
      const d = await authorizer.authorize(user, attrs);
      if (!d.allowed) throw new ApiError(403, 'Forbidden', forbiddenMessage(user, attrs), rr ? { name: rr.name, group: rr.group, kind: rr.plural } : undefined);
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') return sendText(res, 200, 'ok');
    if (path === '/version') return sendJson(res, 200, KUBE_VERSION);
    if (path === '/metrics' && method === 'GET') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (method === 'GET') {
      const accept = req.headers.accept ?? '';
      if (path === '/') return sendJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v2', '/openapi/v3', '/readyz', '/version', ...[...registry.groups()].filter(([g]) => g).flatMap(([g, vs]) => [`/apis/${g}`, ...vs.map((v) => `/apis/${g}/${v}`)])] });
      if (path === '/api' || path === '/apis') {
        const agg = wantsAggregated(accept);
        if (agg) return sendJson(res, 200, aggregated(registry, path === '/api', agg), `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`);
        return sendJson(res, 200, path === '/api' ? apiVersions(address) : apiGroupList(registry));
      }
      if (path === '/api/v1') return sendJson(res, 200, apiResourceList(registry, '', 'v1'));
      const g = path.match(/^\/apis\/([^/]+)$/);
      if (g) {
        const doc = apiGroup(registry, g[1]);
        if (!doc) throw errors.noRoute();
        return sendJson(res, 200, doc);
      }
      const gv = path.match(/^\/apis\/([^/]+)\/([^/]+)$/);
      if (gv) {
        const doc = apiResourceList(registry, gv[1], gv[2]);
        if (!doc) throw errors.noRoute();
        return sendJson(res, 200, doc);
      }
      if (path === '/openapi/v2') return sendJson(res, 200, openApiV2(registry, KUBE_VERSION.gitVersion));
      if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Index(registry, v3hash));
      if (path.startsWith('/openapi/v3/')) {
        const doc = openApiV3Doc(registry, path.slice('/openapi/v3/'.length), KUBE_VERSION.gitVersion);
        if (!doc) throw errors.noRoute();
        return sendJson(res, 200, doc);
      }
    }
    if (!rr) throw errors.noRoute();
    if (rr.group === '' && rr.version !== 'v1') throw errors.noRoute();
    return handleResource({ ...ctx, user }, rr, req, res, q);
  }

  const server: Server = createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const started = performance.now();
    const { verb, resource } = describeRequest(req);
    const isWatch = verb === 'watch';
    if (isWatch) metrics.watchOpened(resource);
    res.once('close', () => {
      if (isWatch) metrics.watchClosed(resource);
      metrics.observe(verb, resource, res.statusCode, (performance.now() - started) / 1000);
    });
    route(req, res).catch((err: unknown) => {
      const apiErr = asApiError(err);
      if (apiErr.status >= 500) log.error({ err, method: req.method, url: req.url }, 'request failed');
      if (!res.headersSent && !req.complete) {
        // Drain the unread body so the connection stays usable.
        req.resume();
      }
      sendError(res, apiErr);
    });
  });
  // exec/attach/portforward arrive as upgrade requests: authenticate, authorize, then relay to the kubelet.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    (async () => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const user = await authn.authenticate(req);
      if (!user) throw errors.unauthorized();
      let rr: ReturnType<typeof parseResourcePath>;
      try {
        rr = parseResourcePath(url.pathname.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent));
      } catch {
        throw errors.badRequest('malformed URL path');
      }
      if (!rr || !isStreaming(rr)) throw errors.noRoute();
      const attrs: Attributes = { ...requestAttributes(rr, 'POST', url.searchParams), verb: 'create' };
      if (!(await authorizer.authorize(user, attrs)).allowed) throw new ApiError(403, 'Forbidden', forbiddenMessage(user, attrs));
      await relayToKubelet(objects, registry, ctx.kubelet, rr, req, socket, head);
    })().catch((err: unknown) => rejectUpgrade(socket, err));
  });
  server.on('tlsClientError', () => undefined);
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Inherited listeners (`ebbflow up` hands over a socket bound in another
  // network namespace) feed their connections to the same TLS server.
  const extra = (config.listenFds ?? []).map((fd) => {
    const l = createNetServer((sock) => server.emit('connection', sock));
    l.on('error', (err) => log.warn({ err: err.message, fd }, 'inherited listener failed'));
    l.listen({ fd });
    return l;
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  // A wildcard bind is reached over loopback by the local kubeconfig.
  const reach = config.bind === '0.0.0.0' ? '127.0.0.1' : config.bind === '::' ? '::1' : config.bind;
  const host = reach.includes(':') ? `[${reach}]` : reach;
  address = `${host}:${port}`;
  const url = `https://${address}`;
  const kubeconfigPath = writeKubeconfig(config.dataDir, pki, url);
  const advertise = config.advertiseAddress ?? config.bind;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(advertise)) {
    await ensureSelfService(objects, registry, { clusterIP: firstServiceIP(config.serviceCIDR ?? '10.96.0.0/12'), address: advertise, port });
  }

  // Like kine, keep a bounded history; like kube-apiserver, expire old Events.
  const stopHousekeeping = startHousekeeping(store, objects, registry, {
    compactRetainRevisions: config.compactRetainRevisions ?? 10_000,
    compactIntervalMs: config.compactIntervalMs ?? 5 * 60_000,
    eventTTLSeconds: config.eventTTLSeconds ?? 3600,
    eventSweepIntervalMs: 60_000,
  }, log);
  log.info({ url, kubeconfigPath }, 'api server listening');

  let stopped = false;
  return {
    port,
    url,
    kubeconfigPath,
    writeKubeconfigFor: (path, user, groups) => writeClientKubeconfig(config.dataDir, path, url, user, groups),
    async stop() {
      if (stopped) return;
      stopped = true;
      stopHousekeeping();
      for (const l of extra) l.close();
      for (const end of [...open]) end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
