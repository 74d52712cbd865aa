// API semantics over raw HTTPS: discovery, OpenAPI, authn, watch (initial
// events, bookmarks, timeouts, 410 after compaction), finalizers, graceful
// deletion, binding, namespaces, dry-run, Table output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { adminCredentials, rawRequest, startTestServer, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;

/** Streams a watch, returning parsed events once `until` is satisfied or the server ends the stream. */
function watchEvents(path: string, until: (evs: any[]) => boolean, timeoutMs = 10_000): Promise<{ events: any[]; ended: boolean }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const creds = adminCredentials(s.dir);
  return new Promise((resolve, reject) => {
    const u = new URL(path, s.handle.url);
    const events: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    let buf = '';
    const req = request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, ca: creds.ca, cert: creds.cert, key: creds.key }, (res) => {
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
        if (until(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve({ events, ended: false });
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ events, ended: true });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`watch timed out with ${JSON.stringify(events)}`));
    }, timeoutMs);
    req.on('error', (e) => {
      if (!(e as NodeJS.ErrnoException).code?.includes('ECONNRESET')) reject(e);
    });
    req.end();
  });
}

const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { a: '1' } });

beforeAll(async () => {
  s = await startTestServer({ bookmarkIntervalMs: 200 });
  expect((await s.request('POST', '/api/v1/namespaces', { metadata: { name: 'h' } })).status).toBe(201);
});
afterAll(async () => {
  await s?.close();
});

describe('discovery and openapi', () => {
  it('serves aggregated discovery with its content type, and legacy lists', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const agg = await s.request('GET', '/apis', undefined, { Accept: accept });
    expect(agg.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const apps = agg.json().items.find((g: { metadata: { name: string } }) => g.metadata.name === 'apps');
    const deploy = apps.versions[0].resources.find((r: { resource: string }) => r.resource === 'deployments');
    expect(deploy.subresources.map((x: { subresource: string }) => x.subresource).sort()).toEqual(['scale', 'status']);
    expect(deploy.subresources.find((x: { subresource: string }) => x.subresource === 'scale').responseKind).toEqual({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    const core = await s.request('GET', '/api', undefined, { Accept: accept });
    expect(core.json().items[0].versions[0].resources.find((r: { resource: string }) => r.resource === 'pods').subresources.map((x: { subresource: string }) => x.subresource)).toContain('binding');
    expect((await s.request('GET', '/api')).json().versions).toEqual(['v1']);
    const rl = (await s.request('GET', '/apis/apps/v1')).json();
    expect(rl.resources.find((r: { name: string }) => r.name === 'deployments/scale')).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    expect((await s.request('GET', '/apis/nope/v1')).status).toBe(404);
  });

  it('serves OpenAPI v3 with the fieldValidation parameter and v2 definitions', async () => {
    const idx = (await s.request('GET', '/openapi/v3')).json();
    expect(Object.keys(idx.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apps/v1', 'apis/networking.k8s.io/v1']));
    const doc = (await s.request('GET', idx.paths['apis/apps/v1'].serverRelativeURL)).json();
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
    const containers = doc.components.schemas['io.k8s.api.apps.v1.Deployment'].properties.spec.properties.template.properties.spec.properties.containers;
    expect(containers['x-kubernetes-patch-merge-key']).toBe('name');
    expect((await s.request('GET', '/openapi/v2')).json().swagger).toBe('2.0');
  });
});

describe('metrics', () => {
  it('counts requests by verb, resource and code', async () => {
    await s.request('GET', '/api/v1/namespaces/h/configmaps/does-not-exist');
    const text = (await s.request('GET', '/metrics')).body;
    expect(text).toMatch(/apiserver_request_total\{verb="get",resource="configmaps",code="404"\} [1-9]/);
    expect(text).toMatch(/apiserver_request_duration_seconds_bucket\{le="[^"]+",verb="create",resource="namespaces"\} [1-9]/);
    expect(text).toMatch(/ebbflow_store_revision [1-9]/);
  });
});

describe('default/kubernetes service', () => {
  it('points at this server', async () => {
    const svc = (await s.request('GET', '/api/v1/namespaces/default/services/kubernetes')).json();
    expect(svc.spec).toMatchObject({ clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: s.handle.port }] });
    const eps = (await s.request('GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes')).json();
    expect(eps.endpoints[0].addresses).toEqual(['127.0.0.1']);
    expect(eps.ports).toEqual([{ name: 'https', port: s.handle.port, protocol: 'TCP' }]);
    expect(eps.metadata.labels['kubernetes.io/service-name']).toBe('kubernetes');
  });
});

describe('authentication', () => {
  it('rejects anonymous requests except health and version, and accepts the admin token', async () => {
    const creds = adminCredentials(s.dir);
    const anon = { ca: creds.ca, cert: '', key: '' };
    const r = await rawRequest(s.handle.url, anon, 'GET', '/api/v1/namespaces');
    expect(r.status).toBe(401);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await rawRequest(s.handle.url, anon, 'GET', '/healthz')).body).toBe('ok');
    expect((await rawRequest(s.handle.url, anon, 'GET', '/readyz')).status).toBe(200);
    const token = readFileSync(join(s.dir, 'admin-token'), 'utf8').trim();
    expect((await rawRequest(s.handle.url, anon, 'GET', '/api/v1/namespaces', undefined, { Authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await rawRequest(s.handle.url, anon, 'GET', '/api/v1/namespaces', undefined, { Authorization: 'Bearer wrong' })).status).toBe(401);
  });
});

describe('watch', () => {
  it('sends initial ADDED events for resourceVersion=0 and ends at timeoutSeconds', async () => {
    await s.request('POST', '/api/v1/namespaces/h/configmaps', cm('w0'));
    const { events, ended } = await watchEvents('/api/v1/namespaces/h/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1', () => false);
    expect(ended).toBe(true);
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['ADDED:w0']);
  });

  it('supports WatchList: initial state, then a bookmark marking its end', async () => {
    const q = 'watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan';
    const { events } = await watchEvents(`/api/v1/namespaces/h/configmaps?${q}`, (evs) => evs.some((e) => e.type === 'BOOKMARK'));
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK']);
    expect(events[1].object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    expect((await s.request('GET', '/api/v1/namespaces/h/configmaps?watch=1&sendInitialEvents=true')).status).toBe(400);
  });

  it('sends bookmarks when allowed', async () => {
    const rv = (await s.request('GET', '/api/v1/namespaces/h/configmaps')).json().metadata.resourceVersion;
    const { events } = await watchEvents(`/api/v1/namespaces/h/configmaps?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, (evs) => evs.some((e) => e.type === 'BOOKMARK'));
    const bm = events.find((e) => e.type === 'BOOKMARK');
    expect(bm.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    expect(Number(bm.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
  });

  it('filters by field selector and reports objects leaving a label selector as DELETED', async () => {
    const rv = (await s.request('GET', '/api/v1/namespaces/h/configmaps')).json().metadata.resourceVersion;
    const pending = watchEvents(`/api/v1/namespaces/h/configmaps?watch=1&resourceVersion=${rv}&labelSelector=keep%3Dyes`, (evs) => evs.length >= 2);
    await new Promise((r) => setTimeout(r, 100));
    await s.request('POST', '/api/v1/namespaces/h/configmaps', cm('sel', { labels: { keep: 'yes' } }));
    await s.request('PATCH', '/api/v1/namespaces/h/configmaps/sel', { metadata: { labels: { keep: 'no' } } }, { 'Content-Type': 'application/merge-patch+json' });
    const { events } = await pending;
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}:${e.object.metadata.labels.keep}`)).toEqual(['ADDED:sel:yes', 'DELETED:sel:no']);
  });

  it('returns 410 Expired for compacted resource versions', async () => {
    const first = (await s.request('POST', '/api/v1/namespaces/h/configmaps', cm('old'))).json().metadata.resourceVersion;
    await s.request('PUT', '/api/v1/namespaces/h/configmaps/old', cm('old'));
    await s.request('DELETE', '/api/v1/namespaces/h/configmaps/old');
    // Compact through a second connection to the same SQLite database (WAL allows it).
    const { openSqliteStore } = await import('../../src/store/sqlite.js');
    const side = await openSqliteStore({ path: join(s.dir, 'state.db'), synchronous: 'normal' });
    await side.compact(await side.currentRevision());
    await side.close();
    const { events } = await watchEvents(`/api/v1/namespaces/h/configmaps?watch=1&resourceVersion=${first}`, (evs) => evs.length >= 1);
    expect(events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    const exact = await s.request('GET', `/api/v1/namespaces/h/configmaps?resourceVersion=${first}&resourceVersionMatch=Exact`);
    expect(exact.status).toBe(410);
  });
});

describe('object lifecycle', () => {
  const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

  it('binds pods once and selects them by spec.nodeName', async () => {
    const created = (await s.request('POST', '/api/v1/namespaces/h/pods', pod('p1'))).json();
    expect(created.status.phase).toBe('Pending');
    expect(created.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30 });
    const bind = await s.request('POST', '/api/v1/namespaces/h/pods/p1/binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1' }, target: { kind: 'Node', name: 'node-a' } });
    expect(bind.status).toBe(201);
    const again = await s.request('POST', '/api/v1/namespaces/h/pods/p1/binding', { metadata: { name: 'p1' }, target: { name: 'node-b' } });
    expect(again.status).toBe(409);
    const sel = (await s.request('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a')).json();
    expect(sel.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['p1']);
    const table = (await s.request('GET', '/api/v1/namespaces/h/pods', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' })).json();
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c: { name: string }) => c.name).slice(0, 5)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(table.rows[0].cells.slice(0, 3)).toEqual(['p1', '0/1', 'Pending']);
  });

  it('deletes bound pods gracefully and unbound ones at once', async () => {
    const graceful = (await s.request('DELETE', '/api/v1/namespaces/h/pods/p1')).json();
    expect(graceful.metadata.deletionTimestamp).toBeTruthy();
    expect(graceful.metadata.deletionGracePeriodSeconds).toBe(30);
    expect((await s.request('GET', '/api/v1/namespaces/h/pods/p1')).status).toBe(200);
    await s.request('DELETE', '/api/v1/namespaces/h/pods/p1', { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
    expect((await s.request('GET', '/api/v1/namespaces/h/pods/p1')).status).toBe(404);
    await s.request('POST', '/api/v1/namespaces/h/pods', pod('p2'));
    await s.request('DELETE', '/api/v1/namespaces/h/pods/p2');
    expect((await s.request('GET', '/api/v1/namespaces/h/pods/p2')).status).toBe(404);
  });

  it('holds objects with finalizers until they are removed, and records foreground propagation', async () => {
    await s.request('POST', '/api/v1/namespaces/h/configmaps', cm('fin', { finalizers: ['example.com/hold'] }));
    const del = (await s.request('DELETE', '/api/v1/namespaces/h/configmaps/fin')).json();
    expect(del.metadata.deletionTimestamp).toBeTruthy();
    await s.request('PATCH', '/api/v1/namespaces/h/configmaps/fin', { metadata: { finalizers: null } }, { 'Content-Type': 'application/merge-patch+json' });
    expect((await s.request('GET', '/api/v1/namespaces/h/configmaps/fin')).status).toBe(404);
    await s.request('POST', '/api/v1/namespaces/h/configmaps', cm('fg'));
    const fg = (await s.request('DELETE', '/api/v1/namespaces/h/configmaps/fg?propagationPolicy=Foreground')).json();
    expect(fg.metadata.finalizers).toEqual(['foregroundDeletion']);
  });

  it('terminates namespaces through the finalize subresource', async () => {
    await s.request('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    const del = (await s.request('DELETE', '/api/v1/namespaces/doomed')).json();
    expect(del.status.phase).toBe('Terminating');
    const blocked = await s.request('POST', '/api/v1/namespaces/doomed/configmaps', cm('x'));
    expect(blocked.status).toBe(403);
    const fin = await s.request('PUT', '/api/v1/namespaces/doomed/finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' }, spec: { finalizers: [] } });
    expect(fin.status).toBe(200);
    expect((await s.request('GET', '/api/v1/namespaces/doomed')).status).toBe(404);
  });

  it('honours dryRun and deletecollection with selectors', async () => {
    expect((await s.request('POST', '/api/v1/namespaces/h/configmaps?dryRun=All', cm('dry'))).status).toBe(201);
    expect((await s.request('GET', '/api/v1/namespaces/h/configmaps/dry')).status).toBe(404);
    for (const n of ['g1', 'g2', 'g3']) await s.request('POST', '/api/v1/namespaces/h/configmaps', cm(n, { labels: { group: n === 'g3' ? 'b' : 'a' } }));
    const dc = await s.request('DELETE', '/api/v1/namespaces/h/configmaps?labelSelector=group%3Da');
    expect(dc.status).toBe(200);
    const left = (await s.request('GET', '/api/v1/namespaces/h/configmaps?labelSelector=group')).json();
    expect(left.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['g3']);
  });

  it('selects events by involvedObject fields', async () => {
    await s.request('POST', '/api/v1/namespaces/h/events', { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'p9', namespace: 'h' }, reason: 'Started', type: 'Normal' });
    await s.request('POST', '/api/v1/namespaces/h/events', { metadata: { name: 'e2' }, involvedObject: { kind: 'Pod', name: 'other', namespace: 'h' }, reason: 'Started', type: 'Normal' });
    const r = (await s.request('GET', '/api/v1/namespaces/h/events?fieldSelector=involvedObject.name%3Dp9,involvedObject.kind%3DPod')).json();
    expect(r.items.map((e: { metadata: { name: string } }) => e.metadata.name)).toEqual(['e1']);
  });
});
