// kubectl 1.32 against an in-process ebbflow API server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

const MANIFEST = `
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80, name: http}]
        env: [{name: MODE, value: prod}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: 80, protocol: TCP}]
`;

let s: TestServer;
async function ok(args: string[], input?: string): Promise<string> {
  const r = await s.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.close();
});

describe('kubectl against ebbflow', () => {
  it('reports version, default namespaces and api-resources', async () => {
    expect(await ok(['version'])).toMatch(/Server Version: v1\.32/);
    const ns = await ok(['get', 'namespaces', '-o', 'name']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) expect(ns).toContain(`namespace/${n}`);
    const res = await ok(['api-resources']);
    expect(res).toMatch(/deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    expect(res).toMatch(/endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice/);
    expect(res).toMatch(/horizontalpodautoscalers\s+hpa\s+autoscaling\/v2/);
    expect((await ok(['auth', 'can-i', 'create', 'deployments'])).trim()).toBe('yes');
    expect(await ok(['auth', 'whoami'])).toMatch(/Username\s+admin[\s\S]*system:masters/);
  });

  it('creates a namespace and refuses objects in a missing one', async () => {
    expect(await ok(['create', 'namespace', 'shop'])).toContain('namespace/shop created');
    const r = await s.kubectl(['-n', 'nowhere', 'create', 'configmap', 'x', '--from-literal=a=b']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('namespaces "nowhere" not found');
  });

  it('applies a manifest client-side, idempotently', async () => {
    const out = await ok(['apply', '-f', '-'], MANIFEST);
    expect(out).toContain('configmap/web-config created');
    expect(out).toContain('deployment.apps/web created');
    expect(out).toContain('service/web created');
    expect(out).toContain('networkpolicy.networking.k8s.io/web-allow created');
    const again = await ok(['apply', '-f', '-'], MANIFEST);
    expect(again).toContain('deployment.apps/web unchanged');
    const changed = await ok(['apply', '-f', '-'], MANIFEST.replace('replicas: 2', 'replicas: 3'));
    expect(changed).toContain('deployment.apps/web configured');
    const d = JSON.parse(await ok(['-n', 'shop', 'get', 'deploy', 'web', '-o', 'json']));
    expect(d.spec.replicas).toBe(3);
    expect(d.metadata.generation).toBe(2);
    expect(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBeTruthy();
    expect(d.spec.template.spec.containers[0].env).toEqual([{ name: 'MODE', value: 'prod' }]);
  });

  it('prints json, yaml, jsonpath, wide and tables', async () => {
    const y = parse(await ok(['-n', 'shop', 'get', 'svc', 'web', '-o', 'yaml']));
    expect(y.spec.ports[0]).toMatchObject({ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' });
    expect(await ok(['-n', 'shop', 'get', 'cm', 'web-config', '-o', 'jsonpath={.data.greeting}'])).toBe('hello');
    const wide = await ok(['-n', 'shop', 'get', 'deploy', '-o', 'wide']);
    expect(wide).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    expect(wide).toMatch(/web\s+0\/3\s+0\s+0\s+\S+\s+nginx\s+nginx:1\.25\s+app=web/);
    const svc = await ok(['-n', 'shop', 'get', 'svc']);
    expect(svc).toMatch(/NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
    const all = await ok(['get', 'netpol', '-A']);
    expect(all).toMatch(/shop\s+web-allow\s+app=web/);
  });

  it('filters with label and field selectors', async () => {
    await ok(['-n', 'shop', 'create', 'configmap', 'other', '--from-literal=k=v']);
    expect((await ok(['-n', 'shop', 'get', 'cm', '-l', 'app!=web', '-o', 'name'])).trim().split('\n').sort()).toEqual(['configmap/other', 'configmap/web-config']);
    expect((await ok(['-n', 'shop', 'get', 'svc,deploy', '-l', 'app=web', '-o', 'name'])).trim().split('\n')).toEqual(['service/web', 'deployment.apps/web']);
    expect((await ok(['-n', 'shop', 'get', 'cm', '--field-selector', 'metadata.name=other', '-o', 'name'])).trim()).toBe('configmap/other');
    const bad = await s.kubectl(['-n', 'shop', 'get', 'cm', '--field-selector', 'spec.bogus=1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('field label not supported: spec.bogus');
  });

  it('labels, annotates and patches with all three patch types', async () => {
    await ok(['-n', 'shop', 'label', 'cm', 'other', 'color=blue']);
    await ok(['-n', 'shop', 'annotate', 'cm', 'other', 'note=hi']);
    await ok(['-n', 'shop', 'patch', 'cm', 'other', '--type', 'merge', '-p', '{"data":{"extra":"1"}}']);
    await ok(['-n', 'shop', 'patch', 'cm', 'other', '--type', 'json', '-p', '[{"op":"replace","path":"/data/k","value":"w"}]']);
    await ok(['-n', 'shop', 'patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}']);
    const cm = JSON.parse(await ok(['-n', 'shop', 'get', 'cm', 'other', '-o', 'json']));
    expect(cm.metadata.labels.color).toBe('blue');
    expect(cm.metadata.annotations.note).toBe('hi');
    expect(cm.data).toEqual({ k: 'w', extra: '1' });
    const d = JSON.parse(await ok(['-n', 'shop', 'get', 'deploy', 'web', '-o', 'json']));
    expect(d.spec.template.spec.containers).toHaveLength(1);
    expect(d.spec.template.spec.containers[0]).toMatchObject({ name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }] });
    const bad = await s.kubectl(['-n', 'shop', 'patch', 'cm', 'other', '--type', 'json', '-p', '[{"op":"test","path":"/data/k","value":"nope"}]']);
    expect(bad.code).not.toBe(0);
  });

  it('scales through the scale subresource', async () => {
    expect(await ok(['-n', 'shop', 'scale', 'deploy/web', '--replicas=5'])).toContain('deployment.apps/web scaled');
    expect(await ok(['-n', 'shop', 'get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
  });

  it('applies server-side with managedFields and conflicts', async () => {
    const ssa = MANIFEST.replace('replicas: 2', 'replicas: 4').replace('name: web-allow', 'name: web-allow-ssa');
    const first = await s.kubectl(['apply', '--server-side', '-f', '-'], ssa);
    // replicas was last set by `kubectl scale`: a different value is a conflict.
    expect(first.code).not.toBe(0);
    expect(first.stderr).toMatch(/conflict/i);
    expect(first.stderr).toContain('.spec.replicas');
    const forced = await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], ssa);
    expect(forced).toContain('deployment.apps/web serverside-applied');
    expect(forced).toContain('networkpolicy.networking.k8s.io/web-allow-ssa serverside-applied');
    const d = JSON.parse(await ok(['-n', 'shop', 'get', 'deploy', 'web', '-o', 'json', '--show-managed-fields']));
    expect(d.spec.replicas).toBe(4);
    const managers = d.metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`);
    expect(managers).toContain('kubectl/Apply');
  });

  it('rejects unknown fields under strict validation', async () => {
    const bad = MANIFEST.split('---')[1].replace('replicas: 2', 'replicas: 2\n  replicaz: 3');
    const r = await s.kubectl(['apply', '-f', '-'], bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.replicaz"');
    const invalid = await s.kubectl(['-n', 'shop', 'create', 'configmap', 'Bad_Name']);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('is invalid');
  });

  it('deletes and waits', async () => {
    expect(await ok(['-n', 'shop', 'delete', 'cm', 'other', '--wait=true'])).toContain('configmap "other" deleted');
    expect(await ok(['-n', 'shop', 'delete', 'deploy', 'web', '--wait=true', '--timeout=20s'])).toContain('deployment.apps "web" deleted');
    const r = await s.kubectl(['-n', 'shop', 'get', 'deploy', 'web']);
    expect(r.stderr).toContain('Error from server (NotFound): deployments.apps "web" not found');
  });
});
