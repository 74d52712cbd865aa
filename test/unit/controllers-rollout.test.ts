// Rolling-update arithmetic: int-or-percent resolution, new/old scaling
// steps, a simulated rollout that must keep within maxSurge and
// maxUnavailable at every step, proportional scaling, the template hash.
import { describe, expect, it } from 'vitest';
import { canonicalJson, maxOldScaleDown, newReplicasForRollingUpdate, planOldScaleDown, proportionalScale, resolveFenceposts, scaledValue, templateHash, templateWithoutHash } from '../../src/controllers/rollout.js';

describe('int-or-percent', () => {
  it('scales percentages, rounding surge up and unavailable down', () => {
    expect(scaledValue('25%', 10, true)).toBe(3);
    expect(scaledValue('25%', 10, false)).toBe(2);
    expect(scaledValue(4, 10, true)).toBe(4);
    expect(scaledValue('3', 10, true)).toBe(3);
    expect(() => scaledValue('abc', 10, true)).toThrow();
    expect(resolveFenceposts('25%', '25%', 3)).toEqual([1, 0]);
    expect(resolveFenceposts(0, 0, 3)).toEqual([0, 1]);
    expect(resolveFenceposts(undefined, undefined, 4)).toEqual([1, 1]);
    expect(resolveFenceposts('100%', '0%', 5)).toEqual([5, 0]);
  });
});

describe('rolling update steps', () => {
  it('scales the new set up to the surge limit only', () => {
    expect(newReplicasForRollingUpdate(3, 1, 3, 0)).toBe(1);
    expect(newReplicasForRollingUpdate(3, 1, 4, 1)).toBe(1);
    expect(newReplicasForRollingUpdate(3, 1, 3, 1)).toBe(2);
    expect(newReplicasForRollingUpdate(10, 3, 10, 0)).toBe(3);
    expect(newReplicasForRollingUpdate(3, 5, 3, 0)).toBe(3);
  });

  it('scales old sets down only as far as availability allows', () => {
    // 3 old all available, new 1 not yet available, maxUnavailable 1: one old pod may go.
    expect(maxOldScaleDown(3, 1, [{ replicas: 3, available: 3 }, { replicas: 1, available: 0 }], { replicas: 1, available: 0 })).toBe(1);
    expect(planOldScaleDown(3, 1, [{ replicas: 3, available: 3 }], { replicas: 1, available: 0 })).toEqual([2]);
    // maxUnavailable 0: nothing until the new pod is available.
    expect(planOldScaleDown(3, 0, [{ replicas: 3, available: 3 }], { replicas: 1, available: 0 })).toEqual([3]);
    expect(planOldScaleDown(3, 0, [{ replicas: 3, available: 3 }], { replicas: 1, available: 1 })).toEqual([2]);
    // Unhealthy old pods go first and cost no availability, within the spec budget (4 pods - floor 3 = 1).
    expect(planOldScaleDown(3, 0, [{ replicas: 3, available: 1 }], { replicas: 1, available: 1 })).toEqual([2]);
    expect(planOldScaleDown(3, 1, [{ replicas: 3, available: 1 }], { replicas: 1, available: 1 })).toEqual([1]);
    // Oldest set first.
    expect(planOldScaleDown(4, 1, [{ replicas: 1, available: 1 }, { replicas: 3, available: 3 }], { replicas: 1, available: 1 })).toEqual([0, 2]);
  });

  for (const [desired, surge, unavailable, readyLag] of [
    [3, 1, 1, 0],
    [3, 0, 1, 1],
    [10, '25%', '25%', 1],
    [5, 2, 0, 2],
    [7, '50%', '10%', 3],
    [1, 1, 0, 1],
  ] as const) {
    it(`simulated rollout desired=${desired} surge=${surge} unavailable=${unavailable} readyLag=${readyLag} stays within bounds`, () => {
      const [s, u] = resolveFenceposts(surge, unavailable, desired);
      // Pods carry the step at which they become available.
      let oldPods = desired;
      let newPods: number[] = [];
      let step = 0;
      for (; step < 200; step++) {
        const newAvailable = newPods.filter((t) => t <= step).length;
        const available = oldPods + newAvailable;
        expect(available).toBeGreaterThanOrEqual(desired - u);
        expect(oldPods + newPods.length).toBeLessThanOrEqual(desired + s);
        if (oldPods === 0 && newAvailable === desired) break;
        const up = newReplicasForRollingUpdate(desired, s, oldPods + newPods.length, newPods.length);
        while (newPods.length < up) newPods.push(step + 1 + readyLag);
        const [next] = planOldScaleDown(desired, u, [{ replicas: oldPods, available: oldPods }], { replicas: newPods.length, available: newAvailable });
        oldPods = next;
      }
      expect(step).toBeLessThan(200);
      newPods = [];
    });
  }
});

describe('proportional scaling', () => {
  it('splits an increase by size with the remainder to the largest', () => {
    expect(proportionalScale(15, 3, [5, 5])).toEqual([9, 9]);
    expect(proportionalScale(20, 0, [6, 4])).toEqual([12, 8]);
    expect(proportionalScale(11, 0, [6, 4])).toEqual([7, 4]);
    expect(proportionalScale(5, 0, [6, 4])).toEqual([3, 2]);
    expect(proportionalScale(0, 0, [6, 4])).toEqual([0, 0]);
    // Mid-rollout 8 old + 5 new of 10 (+3 surge), scaled to 20: 23 split 14 / 9 as upstream.
    expect(proportionalScale(20, 3, [8, 5])).toEqual([14, 9]);
    const r = proportionalScale(13, 1, [3, 7, 2]);
    expect(r.reduce((a, b) => a + b, 0)).toBe(14);
  });
});

describe('template hash', () => {
  it('is stable across key order, differs on content and collision count, uses safe characters', () => {
    const a = { metadata: { labels: { app: 'x', tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const b = { spec: { containers: [{ image: 'i', name: 'c' }] }, metadata: { labels: { tier: 'web', app: 'x' } } };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(templateHash(a)).toBe(templateHash(b));
    expect(templateHash(a)).not.toBe(templateHash({ ...a, spec: { containers: [{ name: 'c', image: 'j' }] } }));
    expect(templateHash(a, 1)).not.toBe(templateHash(a));
    expect(templateHash(a)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    const withHash = { metadata: { labels: { app: 'x', tier: 'web', 'pod-template-hash': templateHash(a) } }, spec: a.spec };
    expect(canonicalJson(templateWithoutHash(withHash as never))).toBe(canonicalJson(a));
  });
});
