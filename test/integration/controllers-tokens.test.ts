// Legacy service-account token Secrets through the real API server with the
// controller manager: the controller fills token, ca.crt, namespace and the
// account uid; the token authenticates as the account; secrets of deleted
// (or recreated) accounts are deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/api/meta.js';
import { connect, type Client } from '../../src/client/client.js';
import { isNotFound } from '../../src/client/errors.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { adminCredentials, rawRequest, startTestServer, type TestServer } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/wait.js';

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}
let s: TestServer;
let client: Client;
let cm: ControllerManagerHandle;
const NS = 'default';
const CA = '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n';

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false, scheduler: false, controllers: ['serviceaccount-token'], settings: { rootCA: CA } });
}, 60_000);
afterAll(async () => {
  await cm?.stop();
  client?.close();
  await s?.close();
});

const dec = (v: string | undefined) => Buffer.from(v ?? '', 'base64').toString('utf8');
const tokenSecret = (name: string, sa: string): Secret => ({ metadata: { name, namespace: NS, annotations: { 'kubernetes.io/service-account.name': sa } }, type: 'kubernetes.io/service-account-token' });
const gone = (name: string) => waitFor(`${name} deleted`, async () => client.get(resources.secrets, NS, name).then(() => false, (err: unknown) => isNotFound(err)));

describe('token controller', () => {
  it('fills token, ca.crt, namespace and the account uid; the token authenticates as the account', async () => {
    const sa = await client.create(resources.serviceaccounts, NS, { metadata: { name: 'bot', namespace: NS } });
    await client.create(resources.secrets, NS, tokenSecret('bot-token', 'bot'));
    const sec = await waitFor('token filled', async () => {
      const x = await client.get<Secret>(resources.secrets, NS, 'bot-token');
      return x.data?.token && x;
    });
    expect(dec(sec.data!['ca.crt'])).toBe(CA);
    expect(dec(sec.data!.namespace)).toBe(NS);
    expect(sec.metadata.annotations?.['kubernetes.io/service-account.uid']).toBe(sa.metadata.uid);
    const token = dec(sec.data!.token);
    const creds = { ...adminCredentials(s.dir), cert: '', key: '' };
    const r = await rawRequest(s.handle.url, creds, 'GET', `/api/v1/namespaces/${NS}/secrets`, undefined, { Authorization: `Bearer ${token}` });
    expect(r.status).toBe(403);
    expect(r.json().message).toContain('system:serviceaccount:default:bot');
    expect((await rawRequest(s.handle.url, creds, 'GET', '/api', undefined, { Authorization: 'Bearer nonsense' })).status).toBe(401);
    // A token Secret applied with kubectl works the same.
    const ap = await s.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', ...tokenSecret('bot-token-2', 'bot') }));
    expect(ap.stderr).toBe('');
    await waitFor('kubectl secret filled', async () => (await client.get<Secret>(resources.secrets, NS, 'bot-token-2')).data?.token);
    await client.delete(resources.secrets, NS, 'bot-token-2');
  });

  it('deletes a token secret naming an account that does not exist', async () => {
    await client.create(resources.secrets, NS, tokenSecret('ghost-token', 'ghost'));
    await gone('ghost-token');
  });

  it('deletes the secrets of a deleted account, and of one recreated with another uid', async () => {
    await client.create(resources.serviceaccounts, NS, { metadata: { name: 'tmp', namespace: NS } });
    await client.create(resources.secrets, NS, tokenSecret('tmp-token', 'tmp'));
    await waitFor('tmp token', async () => (await client.get<Secret>(resources.secrets, NS, 'tmp-token')).data?.token);
    await client.delete(resources.serviceaccounts, NS, 'tmp');
    await gone('tmp-token');

    await client.create(resources.serviceaccounts, NS, { metadata: { name: 'again', namespace: NS } });
    await client.create(resources.secrets, NS, { ...tokenSecret('again-token', 'again'), metadata: { ...tokenSecret('again-token', 'again').metadata, annotations: { 'kubernetes.io/service-account.name': 'again', 'kubernetes.io/service-account.uid': 'not-the-uid' } } });
    await gone('again-token');
  });

  it('leaves other secrets alone', async () => {
    await client.create(resources.secrets, NS, { metadata: { name: 'plain', namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'ghost' } }, type: 'Opaque', data: {} });
    await new Promise((r) => setTimeout(r, 500));
    expect((await client.get<Secret>(resources.secrets, NS, 'plain')).data ?? {}).toEqual({});
  });
});
