// The API server on the etcd datastore, driven by kubectl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETCD_BIN, etcdAvailable, startEtcd, type TestEtcd } from '../helpers/apiserver-etcd.js';

if (!etcdAvailable()) console.warn(`skipping apiserver-on-etcd test: ${ETCD_BIN} is not installed`);
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

let etcd: TestEtcd;
let s: TestServer;

beforeAll(async () => {
  if (!etcdAvailable()) return;
  etcd = await startEtcd();
  s = await startTestServer({ datastore: { kind: 'etcd', endpoints: [etcd.endpoint] } });
});
afterAll(async () => {
  await s?.close();
  await etcd?.stop();
});

describe.skipIf(!etcdAvailable())('apiserver on etcd', () => {
  it('serves kubectl create/apply/get/scale/delete', async () => {
    const run = async (args: string[], input?: string) => {
      const r = await s.kubectl(args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    expect(await run(['get', 'ns', '-o', 'name'])).toContain('namespace/kube-system');
    await run(['create', 'ns', 'e']);
    const manifest = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: e}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: nginx}]}\n';
    expect(await run(['apply', '-f', '-'], manifest)).toContain('created');
    expect(await run(['apply', '-f', '-'], manifest)).toContain('unchanged');
    await run(['-n', 'e', 'scale', 'deploy/d', '--replicas=3']);
    expect(await run(['-n', 'e', 'get', 'deploy', 'd', '-o', 'jsonpath={.spec.replicas}'])).toBe('3');
    const rv = JSON.parse(await run(['-n', 'e', 'get', 'deploy', 'd', '-o', 'json'])).metadata.resourceVersion;
    expect(Number(rv)).toBeGreaterThan(0);
    await run(['-n', 'e', 'delete', 'deploy', 'd', '--wait=true', '--timeout=20s']);
    expect((await s.kubectl(['-n', 'e', 'get', 'deploy', 'd'])).stderr).toContain('NotFound');
  });

  it('rejects creates into a terminating or removed namespace right after its deletion (namespace cache)', async () => {
    const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    expect((await s.request('POST', '/api/v1/namespaces', { metadata: { name: 'nc' } })).status).toBe(201);
    expect((await s.request('POST', '/api/v1/namespaces/nc/configmaps', cm('a'))).status).toBe(201);
    await new Promise((r) => setTimeout(r, 200)); // the cache has synced and holds nc
    expect((await s.request('POST', '/api/v1/namespaces/nc/configmaps', cm('b'))).status).toBe(201);
    expect((await s.request('DELETE', '/api/v1/namespaces/nc')).json().status.phase).toBe('Terminating');
    const blocked = await s.request('POST', '/api/v1/namespaces/nc/configmaps', cm('c'));
    expect(blocked.status).toBe(403);
    expect(blocked.json().message).toContain('because it is being terminated');
    const fin = await s.request('PUT', '/api/v1/namespaces/nc/finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nc' }, spec: { finalizers: [] } });
    expect(fin.status).toBe(200);
    const gone = await s.request('POST', '/api/v1/namespaces/nc/configmaps', cm('d'));
    expect(gone.status).toBe(404);
    expect(gone.json().message).toBe('namespaces "nc" not found');
    expect((await s.request('POST', '/api/v1/namespaces/never/configmaps', cm('e'))).status).toBe(404);
    expect((await s.request('POST', '/api/v1/namespaces', { metadata: { name: 'nc' } })).status).toBe(201);
    expect((await s.request('POST', '/api/v1/namespaces/nc/configmaps', cm('f'))).status).toBe(201);
  });
});
