// @kubernetes/client-node against the API server: CRUD, conflicts, pagination, watch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, CoreV1Api, KubeConfig, Watch, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;

async function failure(p: Promise<unknown>): Promise<{ code: number; body: { reason?: string; details?: { causes?: { field?: string }[] } } }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code: number; body: string };
    return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body };
  }
  throw new Error('expected failure');
}

beforeAll(async () => {
  s = await startTestServer();
  kc = new KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: 'cn' } } });
});
afterAll(async () => {
  await s?.close();
});

describe('client-node', () => {
  it('does CRUD with resourceVersion-based optimistic concurrency', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'cn', body: { metadata: { name: 'c1', labels: { a: 'b' } }, data: { x: '1' } } });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const rv = created.metadata?.resourceVersion;
    const got = await core.readNamespacedConfigMap({ namespace: 'cn', name: 'c1' });
    expect(got.data).toEqual({ x: '1' });
    const updated = await core.replaceNamespacedConfigMap({ namespace: 'cn', name: 'c1', body: { ...got, data: { x: '2' } } });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(rv));
    const stale = await failure(core.replaceNamespacedConfigMap({ namespace: 'cn', name: 'c1', body: { ...got, data: { x: '3' } } }));
    expect(stale.code).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    const dup = await failure(core.createNamespacedConfigMap({ namespace: 'cn', body: { metadata: { name: 'c1' } } }));
    expect(dup.code).toBe(409);
    expect(dup.body.reason).toBe('AlreadyExists');
    await core.deleteNamespacedConfigMap({ namespace: 'cn', name: 'c1' });
    expect((await failure(core.readNamespacedConfigMap({ namespace: 'cn', name: 'c1' }))).code).toBe(404);
  });

  it('returns 422 with field causes for invalid objects', async () => {
    const bad = await failure(
      apps.createNamespacedDeployment({
        namespace: 'cn',
        body: { metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 0 }] }] } } } },
      }),
    );
    expect(bad.code).toBe(422);
    const fields = bad.body.details?.causes?.map((c) => c.field);
    expect(fields).toContain('spec.template.metadata.labels');
    expect(fields).toContain('spec.template.spec.containers[0].ports[0].containerPort');
  });

  it('keeps status and spec apart and bumps generation on spec changes', async () => {
    const d = await apps.createNamespacedDeployment({
      namespace: 'cn',
      body: { metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } }, status: { replicas: 99 } },
    });
    expect(d.metadata?.generation).toBe(1);
    expect(d.status?.replicas).toBeUndefined();
    const st = await apps.replaceNamespacedDeploymentStatus({ namespace: 'cn', name: 'web', body: { ...d, spec: { ...d.spec!, replicas: 7 }, status: { replicas: 1, observedGeneration: 1 } } });
    expect(st.spec?.replicas).toBe(1);
    expect(st.status?.replicas).toBe(1);
    expect(st.metadata?.generation).toBe(1);
    const sp = await apps.replaceNamespacedDeployment({ namespace: 'cn', name: 'web', body: { ...st, spec: { ...st.spec!, replicas: 3 }, status: {} } });
    expect(sp.metadata?.generation).toBe(2);
    expect(sp.status?.replicas).toBe(1);
    const scale = await apps.readNamespacedDeploymentScale({ namespace: 'cn', name: 'web' });
    expect(scale.spec?.replicas).toBe(3);
    expect(scale.status?.selector).toBe('app=web');
  });

  it('paginates lists with limit and continue', async () => {
    for (let i = 0; i < 7; i++) await core.createNamespacedConfigMap({ namespace: 'cn', body: { metadata: { name: `p${i}`, labels: { page: 'yes' } } } });
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: 'cn', labelSelector: 'page=yes', limit: 3, _continue: token });
      names.push(...page.items.map((c: V1ConfigMap) => c.metadata!.name!));
      token = page.metadata?._continue;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(names).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  it('watches from a resourceVersion and sees ADDED, MODIFIED and DELETED in order', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'cn' });
    const events: string[] = [];
    const watch = new Watch(kc);
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const ctrl = await watch.watch(
      '/api/v1/namespaces/cn/configmaps',
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'w=1' },
      (phase, obj) => {
        events.push(`${phase}:${obj.metadata.name}:${obj.data?.v ?? ''}`);
        if (events.length === 3) finished();
      },
      () => undefined,
    );
    await core.createNamespacedConfigMap({ namespace: 'cn', body: { metadata: { name: 'w', labels: { w: '1' } }, data: { v: 'a' } } });
    await core.createNamespacedConfigMap({ namespace: 'cn', body: { metadata: { name: 'ignored' } } });
    // client-node sends application/json-patch+json by default.
    await core.patchNamespacedConfigMap({ namespace: 'cn', name: 'w', body: [{ op: 'replace', path: '/data/v', value: 'b' }] });
    await core.deleteNamespacedConfigMap({ namespace: 'cn', name: 'w' });
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`events so far: ${events.join(',')}`)), 10_000))]);
    ctrl.abort();
    expect(events).toEqual(['ADDED:w:a', 'MODIFIED:w:b', 'DELETED:w:b']);
  });

  it('drives an informer through list, watch and cache updates', async () => {
    await core.createNamespace({ body: { metadata: { name: 'inf' } } });
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'pre' } } });
    const informer = makeInformer(kc, '/api/v1/namespaces/inf/configmaps', () => core.listNamespacedConfigMap({ namespace: 'inf' }));
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'live' }, data: { a: '1' } } });
    await core.replaceNamespacedConfigMap({ namespace: 'inf', name: 'live', body: { metadata: { name: 'live' }, data: { a: '2' } } });
    await core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'pre' });
    const deadline = Date.now() + 10_000;
    while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await informer.stop();
    expect(seen).toEqual(['add:pre', 'add:live', 'update:live', 'delete:pre']);
  });
});
