// A @kubernetes/client-node informer keeps its cache right across an API
// server restart (restarting itself on error, as the client-node docs
// recommend) while the server has compacted away the revisions it knew; a
// watch from such a revision is answered 410 Gone with a Status.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { start, type ApiServerHandle } from '../../src/apiserver/server.js';
import { adminCredentials, rawRequest } from '../helpers/apiserver.js';

/** A watch request from resourceVersion rv; resolves when the server ends it. */
async function fetchWatch(server: ApiServerHandle, dataDir: string, rv: string): Promise<{ status: number; body: string }> {
  return rawRequest(server.url, adminCredentials(dataDir), 'GET', `/api/v1/namespaces/inf/configmaps?watch=1&resourceVersion=${rv}`);
}

describe('client-node informer across restart and 410', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebbflow-informer-'));
  let server: ApiServerHandle | undefined;

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('relists after the server comes back with its old revisions compacted', async () => {
    server = await start({ dataDir: dir, bind: '127.0.0.1', port: 0 });
    const port = Number(new URL(server.url).port);
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'inf' } } });
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'before' } } });

    const informer = makeInformer<V1ConfigMap>(kc, '/api/v1/namespaces/inf/configmaps', () => core.listNamespacedConfigMap({ namespace: 'inf' }));
    const errors: unknown[] = [];
    let stopped = false;
    informer.on('error', (err) => {
      errors.push(err);
      if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 200);
    });
    await informer.start();
    const names = () => informer.list('inf').map((c) => c.metadata?.name).sort();
    const until = async (want: string[], ms = 20_000) => {
      const end = Date.now() + ms;
      while (JSON.stringify(names()) !== JSON.stringify(want)) {
        if (Date.now() > end) throw new Error(`cache holds ${JSON.stringify(names())}, expected ${JSON.stringify(want)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(['before']);

    // Restart on the same data dir and port, keeping only the newest revision.
    await server.stop();
    server = await start({ dataDir: dir, bind: '127.0.0.1', port, compactRetainRevisions: 1, compactIntervalMs: 100 });
    for (let i = 0; i < 5; i++) await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: `after-${i}` } } });
    await core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'before' });
    await until(['after-0', 'after-1', 'after-2', 'after-3', 'after-4']);
    expect(errors.length).toBeGreaterThan(0); // it did see the disconnect (and/or the 410)
    stopped = true;
    await informer.stop();

    // The revision the informer started from is gone: like kube-apiserver, the
    // watch answers with an ERROR event carrying a 410 Expired Status.
    await new Promise((r) => setTimeout(r, 300));
    const r = await fetchWatch(server, dir, '1');
    const first = JSON.parse(r.body.trim().split('\n')[0]!);
    expect(first).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  }, 60_000);
});
