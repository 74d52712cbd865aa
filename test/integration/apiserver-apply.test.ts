// Server-side apply, field validation modes and status patches over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;
const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };
const base = '/apis/apps/v1/namespaces/ap/deployments';
const deploy = (replicas: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1', ...extra }] } } },
  });

beforeAll(async () => {
  s = await startTestServer();
  await s.request('POST', '/api/v1/namespaces', { metadata: { name: 'ap' } });
});
afterAll(async () => {
  await s?.close();
});

describe('server-side apply', () => {
  it('creates with 201, is a no-op when repeated, and requires a field manager', async () => {
    const first = await s.request('PATCH', `${base}/web?fieldManager=alice`, deploy(2), APPLY);
    expect(first.status).toBe(201);
    const obj = first.json();
    expect(obj.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'alice', operation: 'Apply', fieldsType: 'FieldsV1' })]);
    const again = await s.request('PATCH', `${base}/web?fieldManager=alice`, deploy(2), APPLY);
    expect(again.status).toBe(200);
    expect(again.json().metadata.resourceVersion).toBe(obj.metadata.resourceVersion);
    expect((await s.request('PATCH', `${base}/web`, deploy(2), APPLY)).status).toBe(400);
  });

  it('reports conflicts between managers as 409 with causes, and force takes ownership', async () => {
    const conflict = await s.request('PATCH', `${base}/web?fieldManager=bob`, deploy(5), APPLY);
    expect(conflict.status).toBe(409);
    expect(conflict.json()).toMatchObject({ reason: 'Conflict', details: { causes: [{ reason: 'FieldManagerConflict', field: '.spec.replicas', message: 'conflict with "alice"' }] } });
    // Same value is shared ownership, not a conflict.
    expect((await s.request('PATCH', `${base}/web?fieldManager=bob`, deploy(2), APPLY)).status).toBe(200);
    const forced = await s.request('PATCH', `${base}/web?fieldManager=bob&force=true`, deploy(5), APPLY);
    expect(forced.status).toBe(200);
    expect(forced.json().spec.replicas).toBe(5);
    const again = await s.request('PATCH', `${base}/web?fieldManager=alice`, deploy(2), APPLY);
    expect(again.status).toBe(409);
    expect(again.json().details.causes[0].message).toBe('conflict with "bob"');
  });

  it('removes fields a manager stops applying', async () => {
    const withEnv = await s.request('PATCH', `${base}/web?fieldManager=bob`, deploy(5, { env: [{ name: 'A', value: '1' }] }), APPLY);
    expect(withEnv.json().spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
    const without = await s.request('PATCH', `${base}/web?fieldManager=bob`, deploy(5), APPLY);
    expect(without.json().spec.template.spec.containers[0].env).toBeUndefined();
    expect(without.json().metadata.generation).toBeGreaterThan(withEnv.json().metadata.generation);
  });

  it('applies status through the status subresource only', async () => {
    const st = await s.request('PATCH', `${base}/web/status?fieldManager=ctrl`, JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, status: { replicas: 5, readyReplicas: 3 } }), APPLY);
    expect(st.status).toBe(200);
    expect(st.json().status).toMatchObject({ replicas: 5, readyReplicas: 3 });
    const main = await s.request('PATCH', `${base}/web?fieldManager=bob`, JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, status: { replicas: 99 } }), APPLY);
    expect(main.json().status.replicas).toBe(5);
  });
});

describe('field validation and status patches', () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fv' }, data: { a: '1' }, bogus: true };
  it('warns, ignores or rejects unknown fields by mode', async () => {
    const warn = await s.request('POST', '/api/v1/namespaces/ap/configmaps?fieldValidation=Warn', cm);
    expect(warn.status).toBe(201);
    expect(warn.headers.warning).toBe('299 - "unknown field \\"bogus\\""');
    expect(warn.json().bogus).toBeUndefined();
    const ignore = await s.request('POST', '/api/v1/namespaces/ap/configmaps?fieldValidation=Ignore', { ...cm, metadata: { name: 'fv2' } });
    expect(ignore.status).toBe(201);
    expect(ignore.headers.warning).toBeUndefined();
    const strict = await s.request('POST', '/api/v1/namespaces/ap/configmaps?fieldValidation=Strict', { ...cm, metadata: { name: 'fv3' } });
    expect(strict.status).toBe(400);
    expect(strict.json().message).toContain('strict decoding error: unknown field "bogus"');
  });

  it('merges pod status conditions by type with a strategic patch', async () => {
    await s.request('POST', '/api/v1/namespaces/ap/pods', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    const sp = { 'Content-Type': 'application/strategic-merge-patch+json' };
    await s.request('PATCH', '/api/v1/namespaces/ap/pods/p/status', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }, { type: 'Initialized', status: 'True' }] } }, sp);
    const r = await s.request('PATCH', '/api/v1/namespaces/ap/pods/p/status', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, sp);
    expect(r.json().status.phase).toBe('Running');
    expect(r.json().status.conditions).toEqual([{ type: 'Ready', status: 'True' }, { type: 'Initialized', status: 'True' }]);
    // Spec changes through /status are ignored.
    const ign = await s.request('PATCH', '/api/v1/namespaces/ap/pods/p/status', { spec: { nodeName: 'sneaky' } }, sp);
    expect(ign.json().spec.nodeName).toBeUndefined();
  });
});
