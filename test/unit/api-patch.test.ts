import { describe, expect, it } from 'vitest';
import { applyJsonPatch } from '../../src/api/patch/json.js';
import { applyMergePatch } from '../../src/api/patch/merge.js';
import { applyStrategicPatch } from '../../src/api/patch/strategic.js';
import { ApplyConflictError, serverSideApply, trackUpdate } from '../../src/api/patch/apply.js';
import { createRegistry } from '../../src/api/registry.js';
import type { KubeObject } from '../../src/api/meta.js';

const registry = createRegistry();
const deploySchema = registry.schemaOf('Deployment')!;
const svcSchema = registry.schemaOf('Service')!;

function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, finalizers: ['a'] },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'nginx', image: 'nginx:1', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
            { name: 'sidecar', image: 'busybox', args: ['a', 'b'] },
          ],
          volumes: [{ name: 'v1', emptyDir: {} }],
        },
      },
    },
  };
}

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('JSON merge patch', () => {
  it('merges objects, deletes on null, replaces lists', () => {
    expect(applyMergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3], a: null })).toEqual({ b: { d: 3, e: 4 }, l: [3] });
    expect(applyMergePatch({ a: 1 }, 'x')).toBe('x');
  });
});

describe('JSON patch', () => {
  it('applies add/remove/replace/move/copy/test', () => {
    const doc = { a: { b: [1, 2, 3] }, c: 'x', 'k/e~y': 1 };
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/a/b/1', value: 9 },
      { op: 'add', path: '/a/b/-', value: 10 },
      { op: 'remove', path: '/a/b/0' },
      { op: 'replace', path: '/c', value: 'y' },
      { op: 'copy', from: '/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e' },
      { op: 'test', path: '/e', value: 'y' },
      { op: 'remove', path: '/k~1e~0y' },
    ]);
    expect(out).toEqual({ a: { b: [9, 2, 3, 10] }, c: 'y', e: 'y' });
    expect(doc.a.b).toEqual([1, 2, 3]);
  });
  it('fails cleanly on bad operations', () => {
    expect(() => applyJsonPatch({}, [{ op: 'remove', path: '/nope' }])).toThrow(/nonexistent|does not exist/);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(/testing value/);
    expect(() => applyJsonPatch({}, [{ op: 'jump', path: '/a' }])).toThrow(/unexpected kind/);
    expect(() => applyJsonPatch({ l: [] }, [{ op: 'add', path: '/l/5', value: 1 }])).toThrow(/out of bounds/);
    expect(() => applyJsonPatch({}, { op: 'add' })).toThrow(/array/);
  });
});

describe('strategic merge patch', () => {
  it('merges containers by name, env by name, ports by containerPort', () => {
    const out = applyStrategicPatch(deployment(), {
      spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:2', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }], ports: [{ containerPort: 443 }] }] } } },
    }, deploySchema) as Any;
    const c = out.spec.template.spec.containers;
    expect(c.map((x: Any) => x.name)).toEqual(['nginx', 'sidecar']);
    expect(c[0].image).toBe('nginx:2');
    expect(c[0].env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]);
    expect(c[0].ports.map((p: Any) => p.containerPort)).toEqual([80, 443]);
  });
  it('replaces atomic lists and unions set lists', () => {
    const out = applyStrategicPatch(deployment(), { metadata: { finalizers: ['b', 'a'] }, spec: { template: { spec: { containers: [{ name: 'sidecar', args: ['c'] }] } } } }, deploySchema) as Any;
    expect(out.metadata.finalizers).toEqual(['a', 'b']);
    expect(out.spec.template.spec.containers[1].args).toEqual(['c']);
  });
  it('honours $patch delete/replace, $deleteFromPrimitiveList, $setElementOrder and $retainKeys', () => {
    const out = applyStrategicPatch(deployment(), {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a'], labels: { $patch: 'replace', x: 'y' } },
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }],
            containers: [{ name: 'nginx', env: [{ name: 'A', $patch: 'delete' }] }],
            volumes: [{ $patch: 'replace' }, { name: 'v2', emptyDir: {} }],
          },
        },
      },
    }, deploySchema) as Any;
    expect(out.metadata.finalizers).toEqual([]);
    expect(out.metadata.labels).toEqual({ x: 'y' });
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
    expect(out.spec.template.spec.containers.map((c: Any) => c.name)).toEqual(['sidecar', 'nginx']);
    expect(out.spec.template.spec.containers[1].env).toEqual([{ name: 'B', value: '2' }]);
    expect(out.spec.template.spec.volumes).toEqual([{ name: 'v2', emptyDir: {} }]);
  });
  it('merges service ports by port and deletes keys on null', () => {
    const svc = { spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }], selector: { app: 'a', tier: 'b' } } };
    const out = applyStrategicPatch(svc, { spec: { ports: [{ port: 443, targetPort: 8443 }], selector: { tier: null } } }, svcSchema) as Any;
    expect(out.spec.ports).toEqual([{ port: 80, name: 'http' }, { port: 443, name: 'https', targetPort: 8443 }]);
    expect(out.spec.selector).toEqual({ app: 'a' });
  });
  it('rejects list items without their merge key', () => {
    expect(() => applyStrategicPatch(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, deploySchema)).toThrow(/merge key/);
  });
});

describe('server-side apply', () => {
  const m = (manager: string, operation: 'Apply' | 'Update' = 'Apply', subresource?: string) => ({ manager, operation, subresource, apiVersion: 'apps/v1', time: '2026-01-01T00:00:00Z' });
  it('records managedFields, detects conflicts, and forces', () => {
    const created = serverSideApply(undefined, deployment(), deploySchema, m('kubectl'), false, true);
    expect(created.metadata.managedFields?.[0].manager).toBe('kubectl');
    const fv1 = created.metadata.managedFields?.[0].fieldsV1 as Any;
    expect(fv1['f:spec']['f:replicas']).toEqual({});
    expect(fv1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['.']).toEqual({});
    // Another manager changes replicas through an update.
    const scaled = JSON.parse(JSON.stringify(created)) as Any;
    scaled.spec.replicas = 5;
    trackUpdate(created, scaled, deploySchema, m('kubectl-scale', 'Update', 'scale'));
    // Re-applying replicas: 1 now conflicts.
    try {
      serverSideApply(scaled, deployment(), deploySchema, m('kubectl'), false, true);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApplyConflictError);
      expect((err as ApplyConflictError).conflicts).toEqual([{ manager: 'kubectl-scale', field: '.spec.replicas' }]);
    }
    const forced = serverSideApply(scaled, deployment(), deploySchema, m('kubectl'), true, true) as Any;
    expect(forced.spec.replicas).toBe(1);
    expect(forced.metadata.managedFields.map((e: Any) => e.manager)).toEqual(['kubectl']);
  });
  it('removes fields the manager stopped applying', () => {
    const first = serverSideApply(undefined, deployment(), deploySchema, m('kubectl'), false, true);
    const cfg = deployment() as Any;
    cfg.spec.template.spec.containers = [cfg.spec.template.spec.containers[0]];
    delete cfg.metadata.labels;
    const second = serverSideApply(first, cfg, deploySchema, m('kubectl'), false, true) as Any;
    expect(second.spec.template.spec.containers.map((c: Any) => c.name)).toEqual(['nginx']);
    expect(second.metadata.labels).toBeUndefined();
  });
  it('keeps fields owned by another manager', () => {
    const first = serverSideApply(undefined, deployment(), deploySchema, m('a'), false, true);
    const cfg = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { extra: 'yes' } } } as KubeObject;
    const second = serverSideApply(first, cfg, deploySchema, m('b'), false, true) as Any;
    expect(second.metadata.labels).toEqual({ app: 'web', extra: 'yes' });
    expect(second.spec.replicas).toBe(1);
  });
});
