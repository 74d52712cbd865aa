// Bad input never yields a 5xx or a crash: seeded random garbage, mutated
// objects, bad query parameters, bad patches and bad paths all get 4xx Status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type RawResponse, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COLLECTIONS = ['/api/v1/namespaces/fz/pods', '/api/v1/namespaces/fz/services', '/api/v1/namespaces/fz/configmaps', '/api/v1/namespaces/fz/secrets', '/apis/apps/v1/namespaces/fz/deployments', '/apis/networking.k8s.io/v1/namespaces/fz/networkpolicies', '/apis/batch/v1/namespaces/fz/cronjobs', '/api/v1/nodes', '/apis/rbac.authorization.k8s.io/v1/clusterroles', '/apis/discovery.k8s.io/v1/namespaces/fz/endpointslices'];

const SEED_OBJECTS: Record<string, unknown> = {
  pods: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }], env: [{ name: 'E', value: 'v' }] }] } },
  services: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { a: 'b' }, ports: [{ port: 80, targetPort: 8080 }] } },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } },
  secrets: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'dg==' } },
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } },
  networkpolicies: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n' }, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] }] } },
  cronjobs: { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } } } } },
  nodes: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } },
  clusterroles: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] },
  endpointslices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ port: 80 }] },
};

const WEIRD: unknown[] = [null, -1, 0, 1.5, 2 ** 53, '', 'x'.repeat(300), 'UPPER_case!', true, [], [1, 'a', null], {}, { $patch: 'delete' }, '../../etc', '\u0000\uffff', { nested: { deep: [{}] } }];

function mutate(value: unknown, r: () => number, depth = 0): unknown {
  if (r() < 0.15 || depth > 6) return WEIRD[Math.floor(r() * WEIRD.length)];
  if (Array.isArray(value)) return value.map((v) => mutate(v, r, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (r() < 0.1) continue;
      out[r() < 0.05 ? `${k}x` : k] = r() < 0.5 ? mutate(v, r, depth + 1) : v;
    }
    return out;
  }
  return value;
}

function randomBytes(r: () => number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

function expectSane(res: RawResponse, what: string): void {
  expect(res.status, `${what}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    const body = res.json();
    expect(body.kind, what).toBe('Status');
    expect(body.code, what).toBe(res.status);
  }
}

function expect4xx(res: RawResponse, what: string): void {
  expectSane(res, what);
  expect(res.status, `${what}: ${res.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
}

beforeAll(async () => {
  s = await startTestServer();
  await s.request('POST', '/api/v1/namespaces', { metadata: { name: 'fz' } });
  await s.request('POST', '/api/v1/namespaces/fz/configmaps', SEED_OBJECTS.configmaps);
});
afterAll(async () => {
  await s?.close();
});

describe('bad input', () => {
  it('random bytes and garbage bodies get 4xx', async () => {
    const r = rng(1);
    const types = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'text/plain', 'application/json-patch+json', 'application/apply-patch+yaml'];
    for (let i = 0; i < 60; i++) {
      const path = COLLECTIONS[i % COLLECTIONS.length];
      const ct = types[Math.floor(r() * types.length)];
      const body = i % 3 === 0 ? randomBytes(r, 1 + Math.floor(r() * 200)) : i % 3 === 1 ? Buffer.concat([Buffer.from('k8s\u0000'), randomBytes(r, 40)]) : Buffer.from('{"apiVersion": [1, 2');
      expect4xx(await s.request('POST', path, body, { 'Content-Type': ct }), `POST ${path} ${ct} #${i}`);
    }
  });

  it('mutated objects are accepted or rejected with 4xx, never 5xx', async () => {
    const r = rng(2);
    for (let i = 0; i < 200; i++) {
      const path = COLLECTIONS[i % COLLECTIONS.length];
      const plural = path.split('/').pop()!;
      const body = mutate(SEED_OBJECTS[plural], r) as Record<string, unknown>;
      const res = await s.request('POST', path, JSON.stringify(body), { 'Content-Type': r() < 0.5 ? 'application/json' : 'application/yaml' });
      expectSane(res, `POST ${path} ${JSON.stringify(body).slice(0, 200)}`);
      if (res.status === 201) {
        const name = res.json().metadata.name;
        expectSane(await s.request('DELETE', `${path}/${encodeURIComponent(name)}`), 'cleanup');
      }
    }
  });

  it('bad patches get 4xx', async () => {
    const r = rng(3);
    const target = '/api/v1/namespaces/fz/configmaps/c';
    const patches: [string, string][] = [
      ['application/json-patch+json', '{"op":"add"}'],
      ['application/json-patch+json', '[{"op":"remove","path":"/nope/deeper"}]'],
      ['application/json-patch+json', '[{"op":"replace","path":"/metadata/name","value":"other"}]'],
      ['application/json-patch+json', '[{"op":"add","path":"/data","value":42}]'],
      ['application/merge-patch+json', '[1,2,3]'],
      ['application/merge-patch+json', '{"metadata":{"labels":{"bad key!":"v"}}}'],
      ['application/strategic-merge-patch+json', '{"data":{"$patch":"explode"}}'],
      ['application/strategic-merge-patch+json', '"just a string"'],
      ['application/apply-patch+yaml', 'kind: Secret\napiVersion: v1\nmetadata: {name: c}'],
      ['application/apply-patch+yaml', '{{{'],
      ['application/cbor', '{}'],
      ['text/html', '<html>'],
    ];
    for (const [ct, body] of patches) {
      const q = ct === 'application/apply-patch+yaml' ? '?fieldManager=fuzz' : '';
      expect4xx(await s.request('PATCH', target + q, body, { 'Content-Type': ct }), `PATCH ${ct} ${body}`);
    }
    for (let i = 0; i < 40; i++) {
      const ct = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'][i % 3];
      const body = JSON.stringify(mutate({ metadata: { labels: { a: 'b' }, resourceVersion: '1' }, data: { x: 'y' } }, r));
      expectSane(await s.request('PATCH', target, body, { 'Content-Type': ct }), `PATCH ${ct} ${body}`);
    }
    expect4xx(await s.request('PATCH', '/api/v1/namespaces/fz/configmaps/absent', '{}', { 'Content-Type': 'application/merge-patch+json' }), 'patch missing');
  });

  it('bad query parameters, paths and methods get 4xx', async () => {
    const bad = [
      '/api/v1/namespaces/fz/configmaps?labelSelector=a%20in%20(',
      '/api/v1/namespaces/fz/configmaps?labelSelector=!!!',
      '/api/v1/namespaces/fz/configmaps?fieldSelector=nonsense',
      '/api/v1/namespaces/fz/configmaps?fieldSelector=data.k%3Dv',
      '/api/v1/namespaces/fz/configmaps?limit=abc',
      '/api/v1/namespaces/fz/configmaps?limit=-5',
      '/api/v1/namespaces/fz/configmaps?resourceVersion=abc',
      '/api/v1/namespaces/fz/configmaps?continue=notatoken',
      '/api/v1/namespaces/fz/configmaps?resourceVersionMatch=Sometimes&resourceVersion=1',
      '/api/v1/namespaces/fz/configmaps?watch=1&resourceVersion=-1',
      '/api/v1/namespaces/fz/configmaps?watch=1&timeoutSeconds=soon',
      '/api/v1/namespaces/fz/widgets',
      '/api/v2/pods',
      '/apis/apps/v9/deployments',
      '/apis/apps/v1/namespaces/fz/deployments/d/bogus',
      '/api/v1/namespaces/fz/configmaps/c/status',
      '/api/v1/namespaces/fz/configmaps/%zz',
      '/api/v1/nodes/n1/namespaces',
      '/openapi/v3/apis/none/v1',
      '/nothing/here',
    ];
    for (const p of bad) expect4xx(await s.request('GET', p), `GET ${p}`);
    expect4xx(await s.request('POST', '/api/v1/configmaps', SEED_OBJECTS.configmaps), 'POST cluster-wide namespaced');
    expect4xx(await s.request('PUT', '/api/v1/namespaces/fz/configmaps', SEED_OBJECTS.configmaps), 'PUT collection');
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/configmaps/c', SEED_OBJECTS.configmaps), 'POST item');
    expect4xx(await s.request('PUT', '/api/v1/namespaces/fz/configmaps/c', { ...(SEED_OBJECTS.configmaps as object), metadata: { name: 'different' } }), 'PUT name mismatch');
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/configmaps?dryRun=Sometimes', SEED_OBJECTS.configmaps), 'bad dryRun');
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/configmaps?fieldValidation=Loose', SEED_OBJECTS.configmaps), 'bad fieldValidation');
    expect4xx(await s.request('DELETE', '/api/v1/namespaces/fz/configmaps/c', '{"gracePeriodSeconds":', { 'Content-Type': 'application/json' }), 'bad DeleteOptions');
    expect4xx(await s.request('GET', '/api/v1/namespaces/fz/configmaps', undefined, { Accept: 'application/vnd.kubernetes.protobuf' }), 'protobuf only accept');
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/configmaps', 'x'.repeat(4 * 1024 * 1024), { 'Content-Type': 'application/json' }), 'too large');
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/serviceaccounts/none/token', { spec: {} }), 'token for missing account');
    await s.request('POST', '/api/v1/namespaces/fz/serviceaccounts', { metadata: { name: 'sa' } });
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/serviceaccounts/sa/token', { spec: { expirationSeconds: 5 } }), 'too short token');
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/serviceaccounts/sa/token', '[]'), 'token body not an object');
    expect4xx(await s.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { spec: {} }), 'empty access review');
    expect4xx(await s.request('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'), 'list a virtual resource');
    expect4xx(await s.request('GET', '/api/v1/namespaces/fz/pods/missing/log'), 'log of missing pod');
    expect4xx(await s.request('POST', '/api/v1/namespaces/fz/pods/missing/binding', { target: {} }), 'bind without target');
    expect((await s.request('GET', '/healthz')).status).toBe(200);
  });
});
