// The informer against the real API server: a watch that resumes from a
// compacted resourceVersion gets 410 Gone and the informer relists, ending
// with the same cache as the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/api/meta.js';
import { createClient, type Client } from '../../src/client/client.js';
import { loadKubeconfig } from '../../src/client/kubeconfig.js';
import { makeInformer } from '../../src/client/informer.js';
import { resources } from '../../src/client/resources.js';
import { createTransport, type Transport } from '../../src/client/rest.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
const lists: string[] = [];
const watchRvs: string[] = [];

beforeAll(async () => {
  s = await startTestServer({ compactRetainRevisions: 1, compactIntervalMs: 100 });
  const inner = createTransport(loadKubeconfig(s.kubeconfig));
  // Records list and watch requests so the test can see the relist happen.
  const spy: Transport = {
    request(method, path, opts) {
      if (method === 'GET' && path.endsWith('/configmaps')) lists.push(path);
      return inner.request(method, path, opts);
    },
    stream(path, opts) {
      watchRvs.push(String(opts?.query?.resourceVersion ?? ''));
      return inner.stream(path, opts);
    },
    close: () => inner.close(),
  };
  client = createClient(spy);
});
afterAll(async () => {
  client?.close();
  await s?.close();
});

describe('informer on a compacting server', () => {
  it('relists after 410 Gone and converges', async () => {
    await client.create(resources.namespaces, undefined, { metadata: { name: 'inf' } });
    await client.create(resources.configmaps, 'inf', { metadata: { name: 'a', namespace: 'inf' } });
    const inf = makeInformer<KubeObject>(client, resources.configmaps, { namespace: 'inf', watchTimeoutSeconds: 1, backoff: { initialMs: 20, maxMs: 200 } });
    inf.start();
    await inf.waitForSync();
    expect(inf.store.keys()).toEqual(['inf/a']);
    const rvAfterList = inf.resourceVersion;
    // Writes elsewhere move the store past our resourceVersion; compaction then drops it.
    for (let i = 0; i < 20; i++) await client.create(resources.secrets, 'inf', { metadata: { name: `s${i}`, namespace: 'inf' } });
    await waitFor('relist after 410', () => lists.length >= 2, 20_000);
    // The first watch started at the list's version and the server ended it; the reconnect from that
    // (now compacted) version is what got 410 and caused the relist.
    expect(watchRvs.slice(0, 2)).toEqual([rvAfterList, rvAfterList]);
    await client.create(resources.configmaps, 'inf', { metadata: { name: 'b', namespace: 'inf' } });
    await client.delete(resources.configmaps, 'inf', 'a');
    await waitFor('cache converged', () => inf.store.keys().join() === 'inf/b', 20_000);
    expect(Number(inf.resourceVersion)).toBeGreaterThan(Number(rvAfterList));
    await inf.stop();
  });
});
