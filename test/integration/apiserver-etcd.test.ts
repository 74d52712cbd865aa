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
});
