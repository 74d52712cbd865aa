// RBAC: bearer-token users get only what Roles/ClusterRoles bound to them allow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCredentials, rawRequest, startTestServer, type TestServer } from '../helpers/apiserver.js';

let s: TestServer;
const rbac = '/apis/rbac.authorization.k8s.io/v1';

function asBob(method: string, path: string, body?: unknown) {
  const creds = { ...adminCredentials(s.dir), cert: '', key: '' };
  const text = body === undefined ? undefined : JSON.stringify(body);
  return rawRequest(s.handle.url, creds, method, path, text, { Authorization: 'Bearer bob-token' });
}

beforeAll(async () => {
  s = await startTestServer({ tokens: { 'bob-token': { user: 'bob', groups: ['devs'] } } });
});
afterAll(async () => {
  await s?.close();
});

describe('rbac', () => {
  it('bootstraps cluster-admin for system:masters', async () => {
    const crb = (await s.request('GET', `${rbac}/clusterrolebindings/cluster-admin`)).json();
    expect(crb.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:masters' }]);
  });

  it('forbids unbound users but lets them read discovery', async () => {
    const r = await asBob('GET', '/api/v1/namespaces/default/pods');
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ reason: 'Forbidden', code: 403, message: 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"' });
    expect((await asBob('GET', '/apis')).status).toBe(200);
    expect((await asBob('GET', '/version')).status).toBe(200);
  });

  it('grants what a RoleBinding allows, in its namespace only', async () => {
    await s.request('POST', `${rbac}/namespaces/default/roles`, { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods', 'pods/status'], verbs: ['get', 'list', 'watch'] }] });
    await s.request('POST', `${rbac}/namespaces/default/rolebindings`, { metadata: { name: 'bob-reads' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }] });
    expect((await asBob('GET', '/api/v1/namespaces/default/pods')).status).toBe(200);
    expect((await asBob('GET', '/api/v1/namespaces/kube-system/pods')).status).toBe(403);
    expect((await asBob('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'i' }] } })).status).toBe(403);
    expect((await asBob('GET', '/api/v1/namespaces/default/configmaps')).status).toBe(403);
  });

  it('grants through groups and ClusterRoleBindings, with resourceNames', async () => {
    await s.request('POST', `${rbac}/clusterroles`, { metadata: { name: 'one-cm' }, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['shared'], verbs: ['get'] }] });
    await s.request('POST', `${rbac}/clusterrolebindings`, { metadata: { name: 'devs-one-cm' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'one-cm' }, subjects: [{ kind: 'Group', name: 'devs', apiGroup: 'rbac.authorization.k8s.io' }] });
    await s.request('POST', '/api/v1/namespaces/kube-public/configmaps', { metadata: { name: 'shared' } });
    expect((await asBob('GET', '/api/v1/namespaces/kube-public/configmaps/shared')).status).toBe(200);
    expect((await asBob('GET', '/api/v1/namespaces/kube-public/configmaps/other')).status).toBe(403);
    expect((await asBob('GET', '/api/v1/namespaces/kube-public/configmaps')).status).toBe(403);
  });

  it('answers SelfSubjectAccessReview with the authorizer', async () => {
    const ask = async (attrs: Record<string, string>) => (await asBob('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } })).json().status.allowed;
    expect(await ask({ namespace: 'default', verb: 'watch', resource: 'pods' })).toBe(true);
    expect(await ask({ namespace: 'default', verb: 'delete', resource: 'pods' })).toBe(false);
    expect((await s.kubectl(['auth', 'can-i', 'delete', 'nodes'])).stdout.trim()).toBe('yes');
  });

  it('issues node kubeconfigs whose system:nodes identity gets the system:node role', async () => {
    const path = await s.handle.writeKubeconfigFor(`${s.dir}/node-a.kubeconfig`, 'system:node:node-a', ['system:nodes']);
    const kc = (args: string[]) => s.kubectl(['--kubeconfig', path, ...args]);
    const who = await kc(['auth', 'whoami']);
    expect(who.stdout).toMatch(/system:node:node-a[\s\S]*system:nodes/);
    expect((await kc(['get', 'pods', '-A'])).code).toBe(0);
    const denied = await kc(['-n', 'default', 'create', 'configmap', 'x', '--from-literal=a=b']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('is forbidden: User "system:node:node-a" cannot create resource "configmaps"');
  });
});

describe('service account tokens', () => {
  it('mints tokens with kubectl create token and authenticates them until the account is gone', async () => {
    expect((await s.kubectl(['-n', 'default', 'create', 'serviceaccount', 'robot'])).code).toBe(0);
    await s.request('POST', `${rbac}/namespaces/default/rolebindings`, { metadata: { name: 'robot-reads' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: 'default' }] });
    const minted = await s.kubectl(['-n', 'default', 'create', 'token', 'robot', '--duration=1h']);
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const creds = { ...adminCredentials(s.dir), cert: '', key: '' };
    const as = (path: string, t = token) => rawRequest(s.handle.url, creds, 'GET', path, undefined, { Authorization: `Bearer ${t}` });
    expect((await as('/api/v1/namespaces/default/pods')).status).toBe(200);
    expect((await as('/api/v1/namespaces/default/secrets')).status).toBe(403);
    const who = (await rawRequest(s.handle.url, creds, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }), { Authorization: `Bearer ${token}` })).json();
    expect(who.status.userInfo).toEqual({ username: 'system:serviceaccount:default:robot', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] });
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await as('/api/v1/namespaces/default/pods', forged)).status).toBe(401);
    await s.kubectl(['-n', 'default', 'delete', 'serviceaccount', 'robot']);
    expect((await as('/api/v1/namespaces/default/pods')).status).toBe(401);
  });
});
