// Pure controller pieces: IP/port/CIDR allocators, the Service allocator,
// pod ranking for scale-down, slow-start batches, EndpointSlice grouping,
// and expectations.
import { describe, expect, it } from 'vitest';
import type { Pod, Service } from '../../src/api/core.js';
import { FakeClock } from '../../src/client/clock.js';
import { desiredGroups, desiredSubsets, resolvePort } from '../../src/controllers/endpointslice.js';
import { Expectations } from '../../src/controllers/expectations.js';
import { CidrBlockAllocator, clusterIPAllocator, intToIp, ipToInt, parseCidr, RangeAllocator } from '../../src/controllers/ipalloc.js';
import { shouldRun, targetNode } from '../../src/controllers/daemonset.js';
import { toleration } from '../../src/controllers/node-lifecycle.js';
import { rankForDeletion } from '../../src/controllers/pods.js';
import { slowStartBatch } from '../../src/controllers/replicaset.js';
import { ServiceAllocator } from '../../src/controllers/service-alloc.js';

describe('allocators', () => {
  it('parses CIDRs and converts addresses', () => {
    expect(parseCidr('10.96.0.0/12')).toEqual([ipToInt('10.96.0.0'), 12]);
    expect(parseCidr('10.100.3.4/12')[0]).toBe(ipToInt('10.96.0.0'));
    expect(intToIp(ipToInt('192.168.1.254')!)).toBe('192.168.1.254');
    expect(() => parseCidr('10.0.0.0/33')).toThrow();
  });

  it('cluster IPs skip network, broadcast and the reserved .1 and .10', () => {
    const a = clusterIPAllocator('10.0.0.0/28');
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      const n = a.next();
      if (n === undefined) break;
      got.push(intToIp(n));
    }
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.8', '10.0.0.9', '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14']);
    expect(a.claim(ipToInt('10.0.0.1')!)).toBe(true);
    expect(a.claim(ipToInt('10.0.0.15')!)).toBe(false);
  });

  it('a range allocator reuses released numbers and reports full', () => {
    const r = new RangeAllocator(1, 3);
    expect([r.next(), r.next(), r.next(), r.next()]).toEqual([1, 2, 3, undefined]);
    r.release(2);
    expect(r.next()).toBe(2);
  });

  it('node CIDR blocks are distinct /24s and claimable', () => {
    const c = new CidrBlockAllocator('10.244.0.0/16', 24);
    expect(c.claim('10.244.1.0/24')).toBe(true);
    expect(c.claim('10.244.1.0/24')).toBe(false);
    expect(c.claim('10.245.0.0/24')).toBe(false);
    expect([c.next(), c.next()]).toEqual(['10.244.0.0/24', '10.244.2.0/24']);
    const small = new CidrBlockAllocator('10.0.0.0/23', 24);
    expect([small.next(), small.next(), small.next()]).toEqual(['10.0.0.0/24', '10.0.1.0/24', undefined]);
  });

  it('the Service allocator fills ClusterIP and nodePorts, honours requests and rejects conflicts', () => {
    const alloc = new ServiceAllocator({ serviceCIDR: '10.96.0.0/12', nodePortRange: [30000, 30002] });
    const svc = (name: string, spec: Service['spec'], ns = 'default'): Service => ({ metadata: { name, namespace: ns }, spec });
    const k = svc('kubernetes', { ports: [{ port: 443 }] });
    expect(alloc.allocate(k)).toEqual({ ok: true, changed: true });
    expect(k.spec.clusterIP).toBe('10.96.0.1');
    const np = svc('np', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }, { port: 81 }] });
    expect(alloc.allocate(np).ok).toBe(true);
    expect(np.spec.ports!.map((p) => p.nodePort)).toEqual([30001, 30000]);
    const clash = svc('clash', { type: 'NodePort', clusterIP: np.spec.clusterIP, ports: [{ port: 80 }] });
    expect(alloc.allocate(clash)).toMatchObject({ ok: false, field: 'spec.clusterIP' });
    const outside = svc('out', { clusterIP: '192.168.0.1', ports: [{ port: 80 }] });
    expect(alloc.allocate(outside)).toMatchObject({ ok: false, field: 'spec.clusterIP' });
    const headless = svc('h', { clusterIP: 'None', ports: [{ port: 80 }] });
    expect(alloc.allocate(headless)).toEqual({ ok: true, changed: false });
    alloc.release('default', 'np');
    const again = svc('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] });
    expect(alloc.allocate(again).ok).toBe(true);
    // Observing a changed Service frees what it dropped and takes what it gained.
    alloc.observe(svc('np2', { type: 'NodePort', clusterIP: again.spec.clusterIP, ports: [{ port: 80, nodePort: 30002 }] }));
    expect(alloc.allocate(svc('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] })).ok).toBe(true);
    expect(alloc.allocate(svc('np4', { type: 'NodePort', ports: [{ port: 80, nodePort: 30002 }] }))).toMatchObject({ ok: false });
  });
});

const pod = (name: string, o: { node?: string; phase?: Pod['status'] extends infer S ? S extends { phase?: infer P } ? P : never : never; ready?: boolean; created?: string; restarts?: number; ip?: string; labels?: Record<string, string>; deleting?: boolean; ports?: { name: string; containerPort: number }[] } = {}): Pod => ({
  metadata: { name, namespace: 'ns', uid: `u-${name}`, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z', labels: o.labels, ...(o.deleting ? { deletionTimestamp: '2026-01-01T01:00:00Z' } : {}) },
  spec: { nodeName: o.node, containers: [{ name: 'c', image: 'i', ports: o.ports }] },
  status: { phase: o.phase, podIP: o.ip, conditions: o.ready === undefined ? [] : [{ type: 'Ready', status: o.ready ? 'True' : 'False' }], containerStatuses: [{ name: 'c', ready: !!o.ready, restartCount: o.restarts ?? 0, image: 'i', imageID: '' }] },
});

describe('pods and batches', () => {
  it('ranks unassigned, pending, not-ready, restarting and newer pods first for deletion', () => {
    const ranked = rankForDeletion([
      pod('running-ready-old', { node: 'n', phase: 'Running', ready: true, created: '2026-01-01T00:00:00Z' }),
      pod('unassigned', { phase: 'Pending' }),
      pod('running-ready-new', { node: 'n', phase: 'Running', ready: true, created: '2026-01-01T00:05:00Z' }),
      pod('pending', { node: 'n', phase: 'Pending' }),
      pod('not-ready', { node: 'n', phase: 'Running', ready: false }),
    ]);
    expect(ranked.map((p) => p.metadata.name)).toEqual(['unassigned', 'pending', 'not-ready', 'running-ready-new', 'running-ready-old']);
  });

  it('slow-start creates in batches of 1, 2, 4 and stops after a failing batch', async () => {
    const sizes: number[] = [];
    let inflight = 0;
    let peak = 0;
    const r = await slowStartBatch(10, 1, async () => {
      inflight++;
      peak = Math.max(peak, inflight);
      await new Promise((res) => setImmediate(res));
      inflight--;
      if (inflight === 0) {
        sizes.push(peak);
        peak = 0;
      }
    });
    expect(r).toEqual({ ok: 10 });
    expect(sizes).toEqual([1, 2, 4, 3]);
    let calls = 0;
    const failing = await slowStartBatch(10, 1, async () => {
      calls++;
      if (calls === 3) throw new Error('quota');
    });
    expect(failing.ok).toBe(2);
    expect(calls).toBe(3);
  });

  it('expectations hold until observed and expire', () => {
    const clock = new FakeClock();
    const e = new Expectations(clock);
    expect(e.satisfied('rs')).toBe(true);
    e.expect('rs', 2, ['ns/p']);
    e.creationObserved('rs');
    expect(e.satisfied('rs')).toBe(false);
    e.creationObserved('rs');
    e.deletionObserved('rs', 'ns/p');
    expect(e.satisfied('rs')).toBe(true);
    e.expect('rs', 1, []);
    clock.advance(6 * 60_000);
    expect(e.satisfied('rs')).toBe(true);
  });
});

describe('endpoint slices', () => {
  const svc: Service = { metadata: { name: 's', namespace: 'ns' }, spec: { selector: { app: 'a' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'm', port: 9, targetPort: 9090, protocol: 'UDP' }] } };
  it('resolves named target ports per pod and groups pods by port mapping', () => {
    const a = pod('a', { ip: '10.0.0.1', ready: true, node: 'n1', ports: [{ name: 'web', containerPort: 8080 }] });
    const b = pod('b', { ip: '10.0.0.2', ready: false, node: 'n2', ports: [{ name: 'web', containerPort: 8081 }] });
    const c = pod('c', { ip: '10.0.0.3', ready: true, deleting: true, ports: [{ name: 'web', containerPort: 8080 }] });
    const noIp = pod('d', { ready: true });
    expect(resolvePort(svc.spec.ports![0], a)).toBe(8080);
    expect(resolvePort(svc.spec.ports![0], noIp)).toBeUndefined();
    const groups = desiredGroups(svc, [a, b, c, noIp]);
    expect(groups).toHaveLength(2);
    const g8080 = groups.find((g) => g.ports.some((p) => p.port === 8080))!;
    expect(g8080.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'm', port: 9090, protocol: 'UDP' }]);
    expect(g8080.endpoints.map((e) => [e.targetRef?.name, e.conditions])).toEqual([
      ['a', { ready: true, serving: true, terminating: false }],
      ['c', { ready: false, serving: true, terminating: true }],
    ]);
    const subsets = desiredSubsets(svc, groups)!;
    expect(subsets.flatMap((s) => s.addresses ?? []).map((x) => x.ip)).toEqual(['10.0.0.1']);
    expect(subsets.flatMap((s) => s.notReadyAddresses ?? []).map((x) => x.ip)).toEqual(['10.0.0.2']);
  });
});

describe('tolerations', () => {
  const taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' as const };
  it('matches by key, operator, value and effect, with optional seconds', () => {
    expect(toleration(undefined, taint)).toEqual({ tolerated: false });
    expect(toleration([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }], taint)).toEqual({ tolerated: true, seconds: 30 });
    expect(toleration([{ operator: 'Exists' }], taint)).toEqual({ tolerated: true, seconds: undefined });
    expect(toleration([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }], taint)).toEqual({ tolerated: false });
    expect(toleration([{ key: 'other', operator: 'Exists' }], taint)).toEqual({ tolerated: false });
    expect(toleration([{ key: 'k', operator: 'Equal', value: 'v' }], { key: 'k', value: 'v', effect: 'NoExecute' })).toEqual({ tolerated: true, seconds: undefined });
    expect(toleration([{ key: 'k', operator: 'Equal', value: 'w' }], { key: 'k', value: 'v', effect: 'NoExecute' })).toEqual({ tolerated: false });
  });
});

describe('daemon placement', () => {
  const ds = (spec: Partial<Pod['spec']> = {}) => ({ metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [], ...spec } } } }) as never;
  const node = (labels: Record<string, string> = {}, taints: { key: string; effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule' }[] = []) => ({ metadata: { name: 'n', labels }, spec: { taints } }) as never;
  it('honours nodeSelector and taints, with the default daemon tolerations', () => {
    expect(shouldRun(ds(), node())).toBe(true);
    expect(shouldRun(ds({ nodeSelector: { role: 'edge' } }), node({ role: 'core' }))).toBe(false);
    expect(shouldRun(ds({ nodeSelector: { role: 'edge' } }), node({ role: 'edge' }))).toBe(true);
    expect(shouldRun(ds(), node({}, [{ key: 'dedicated', effect: 'NoSchedule' }]))).toBe(false);
    expect(shouldRun(ds(), node({}, [{ key: 'dedicated', effect: 'PreferNoSchedule' }]))).toBe(true);
    expect(shouldRun(ds(), node({}, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]))).toBe(true);
    expect(shouldRun(ds({ tolerations: [{ operator: 'Exists' }] }), node({}, [{ key: 'dedicated', effect: 'NoExecute' }]))).toBe(true);
  });
  it('finds the node a pod is pinned to', () => {
    expect(targetNode({ metadata: {}, spec: { nodeName: 'a', containers: [] } } as never)).toBe('a');
    expect(targetNode({ metadata: {}, spec: { containers: [], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }] } } } } } as never)).toBe('b');
    expect(targetNode({ metadata: {}, spec: { containers: [] } } as never)).toBeUndefined();
  });
});
