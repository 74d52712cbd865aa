import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import { createRegistry } from '../../src/api/registry.js';
import { checkShape } from '../../src/api/schema.js';
import { validateObject } from '../../src/api/validate.js';
import type { KubeObject } from '../../src/api/meta.js';

const registry = createRegistry();
const info = (kind: string) => registry.all.find((r) => r.kind === kind)!;

function check(kind: string, o: KubeObject) {
  applyDefaults(kind, o);
  return validateObject(info(kind), o).map((e) => `${e.field}: ${e.type}`);
}

const pod = (spec: unknown): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec });

describe('registry', () => {
  it('covers the required resources with discovery metadata', () => {
    const kinds = registry.all.map((r) => r.kind);
    for (const k of ['Namespace', 'Pod', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'ServiceAccount', 'Node', 'Event', 'EndpointSlice', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'NetworkPolicy', 'Ingress', 'Lease', 'HorizontalPodAutoscaler', 'PersistentVolume', 'PersistentVolumeClaim', 'StorageClass', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'PodDisruptionBudget', 'ResourceQuota']) {
      expect(kinds, k).toContain(k);
      expect(registry.schemaOf(k), k).toBeDefined();
    }
    expect(registry.byPlural('apps', 'v1', 'deployments')?.subresources).toContain('scale');
    expect(registry.byPlural('', 'v1', 'pods')?.shortNames).toEqual(['po']);
    expect(registry.byPlural('autoscaling', 'v2', 'horizontalpodautoscalers')?.namespaced).toBe(true);
  });
});

describe('validation', () => {
  it('accepts a defaulted valid pod', () => {
    const p = pod({ containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] });
    expect(check('Pod', p)).toEqual([]);
    const spec = p.spec as { restartPolicy: string; containers: { imagePullPolicy: string; ports: { protocol: string }[] }[] };
    expect(spec.restartPolicy).toBe('Always');
    expect(spec.containers[0].imagePullPolicy).toBe('Always');
    expect(spec.containers[0].ports[0].protocol).toBe('TCP');
  });
  it('reports field paths for bad names, ports, missing fields and duplicates', () => {
    const p = pod({ containers: [{ name: 'Bad_Name', ports: [{ containerPort: 70000 }] }, { name: 'ok', image: 'x' }, { name: 'ok', image: 'y' }] });
    p.metadata.name = 'UPPER';
    p.metadata.labels = { 'bad key!': 'v', good: 'not valid value!' };
    expect(check('Pod', p)).toEqual(
      expect.arrayContaining([
        'metadata.name: FieldValueInvalid',
        'metadata.labels: FieldValueInvalid',
        'metadata.labels.good: FieldValueInvalid',
        'spec.containers[0].name: FieldValueInvalid',
        'spec.containers[0].image: FieldValueRequired',
        'spec.containers[0].ports[0].containerPort: FieldValueInvalid',
        'spec.containers[2].name: FieldValueDuplicate',
      ]),
    );
    expect(check('Pod', pod({ containers: [] }))).toContain('spec.containers: FieldValueRequired');
  });
  it('checks deployment selectors against template labels', () => {
    const d: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' }, spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
    expect(check('Deployment', d)).toEqual(['spec.template.metadata.labels: FieldValueInvalid']);
    expect((d.spec as { replicas: number }).replicas).toBe(1);
  });
  it('validates services, namespaces and network policies', () => {
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: '1svc', namespace: 'ns' }, spec: { type: 'Weird', ports: [{ port: 80 }, { port: 80, name: 'b' }] } };
    expect(check('Service', svc)).toEqual(expect.arrayContaining(['metadata.name: FieldValueInvalid', 'spec.type: FieldValueNotSupported', 'spec.ports[0].name: FieldValueRequired', 'spec.ports[1]: FieldValueDuplicate']));
    expect(check('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } })).toEqual(['metadata.name: FieldValueInvalid']);
    const np: KubeObject = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', namespace: 'ns' }, spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] }, ingress: [{ from: [{ ipBlock: { cidr: 'nope' } }], ports: [{ port: 80, endPort: 70 }] }] } };
    expect(check('NetworkPolicy', np)).toEqual(expect.arrayContaining(['spec.podSelector.matchExpressions[0].values: FieldValueRequired', 'spec.ingress[0].from[0].ipBlock.cidr: FieldValueInvalid', 'spec.ingress[0].ports[0].endPort: FieldValueInvalid']));
    expect((np.spec as { policyTypes: string[] }).policyTypes).toEqual(['Ingress']);
  });
  it('turns Secret stringData into base64 data', () => {
    const s: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, stringData: { a: 'hello' } };
    expect(check('Secret', s)).toEqual([]);
    expect(s.data).toEqual({ a: 'aGVsbG8=' });
    expect(s.type).toBe('Opaque');
  });
  it('finds unknown and mistyped fields from the schema', () => {
    const issues = checkShape({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', bogus: 1 }, spec: { replicas: '3', template: { spec: { containers: [{ name: 'c', imagee: 'x' }] } } } }, registry.schemaOf('Deployment')!);
    expect(issues.unknown).toEqual(['metadata.bogus', 'spec.template.spec.containers[0].imagee']);
    expect(issues.mistyped).toEqual([{ path: 'spec.replicas', expected: 'integer', got: 'string' }]);
  });
});
