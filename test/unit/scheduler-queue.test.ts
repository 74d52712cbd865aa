// The scheduling queue: activeQ order, exponential backoff 1s..10s on an
// injected clock, parking unschedulable pods and moving them on events.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/scheduler/clock.js';
import { makePod } from '../../src/scheduler/fixtures.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';

function setup() {
  const clock = new FakeClock();
  const queue = new SchedulingQueue({ clock });
  return { clock, queue };
}

/** Pops a pod and fails its attempt, as the scheduler does with an unschedulable pod. */
function fail(queue: SchedulingQueue, plugins: string[] = ['NodeResourcesFit']) {
  const cycle = queue.schedulingCycle + 1;
  const qp = queue.tryPop();
  if (!qp) throw new Error('queue empty');
  queue.addUnschedulable(qp, cycle, plugins);
  return qp;
}

describe('SchedulingQueue', () => {
  it('pops higher priority first, then first come first served', () => {
    const { queue } = setup();
    queue.add(makePod({ name: 'a' }));
    queue.add(makePod({ name: 'b', priority: 10 }));
    queue.add(makePod({ name: 'c' }));
    expect([queue.tryPop(), queue.tryPop(), queue.tryPop(), queue.tryPop()].map((q) => q?.pod.metadata.name)).toEqual(['b', 'a', 'c', undefined]);
  });

  it('resolves a waiting pop when a pod arrives', async () => {
    const { queue } = setup();
    const popped = queue.pop();
    queue.add(makePod({ name: 'late' }));
    expect((await popped)?.key).toBe('default/late');
    queue.close();
    expect(await queue.pop()).toBeUndefined();
  });

  it('doubles the backoff per attempt from 1s up to 10s', () => {
    const { queue } = setup();
    expect([1, 2, 3, 4, 5, 6].map((n) => queue.backoffDuration(n))).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
  });

  it('parks an unschedulable pod until an event, then waits out its backoff', () => {
    const { clock, queue } = setup();
    queue.add(makePod({ name: 'p' }));
    fail(queue);
    expect(queue.lengths).toMatchObject({ active: 0, unschedulable: 1 });
    clock.advance(60_000);
    expect(queue.where('default/p')).toBe('unschedulable');
    queue.moveOnEvent();
    // Failed at t=0 with 1 attempt: backoff ended at t=1s, so it goes straight to activeQ.
    expect(queue.where('default/p')).toBe('active');
    const qp = queue.tryPop()!;
    expect(qp.attempts).toBe(2);
    queue.addUnschedulable(qp, queue.schedulingCycle, ['NodeResourcesFit']);
    queue.moveOnEvent();
    expect(queue.where('default/p')).toBe('backoff');
    clock.advance(1999);
    expect(queue.where('default/p')).toBe('backoff');
    clock.advance(1);
    expect(queue.where('default/p')).toBe('active');
  });

  it('backs off instead of parking when an event arrived during the attempt', () => {
    const { clock, queue } = setup();
    queue.add(makePod({ name: 'p' }));
    const cycle = queue.schedulingCycle + 1;
    const qp = queue.tryPop()!;
    queue.moveOnEvent();
    queue.addUnschedulable(qp, cycle, ['NodeResourcesFit']);
    expect(queue.where('default/p')).toBe('backoff');
    clock.advance(1000);
    expect(queue.tryPop()?.key).toBe('default/p');
  });

  it('moves only pods rejected by a plugin the event concerns', () => {
    const { clock, queue } = setup();
    queue.add(makePod({ name: 'taint' }));
    fail(queue, ['TaintToleration']);
    queue.add(makePod({ name: 'cpu' }));
    fail(queue, ['NodeResourcesFit']);
    clock.advance(5000);
    queue.moveOnEvent(new Set(['NodeResourcesFit']));
    expect(queue.where('default/cpu')).toBe('active');
    expect(queue.where('default/taint')).toBe('unschedulable');
  });

  it('retries pods parked longer than five minutes without any event', () => {
    const { clock, queue } = setup();
    queue.add(makePod({ name: 'p' }));
    fail(queue);
    clock.advance(4 * 60_000 + 59_000);
    expect(queue.where('default/p')).toBe('unschedulable');
    clock.advance(31_000);
    expect(queue.where('default/p')).toBe('active');
  });

  it('ignores status-only updates but retries on spec changes; deletes drop the pod', () => {
    const { clock, queue } = setup();
    const pod = makePod({ name: 'p', cpu: '8' });
    queue.add(pod);
    fail(queue);
    clock.advance(2000);
    queue.update({ ...pod, status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } });
    expect(queue.where('default/p')).toBe('unschedulable');
    queue.update(makePod({ name: 'p', cpu: '1' }));
    expect(queue.where('default/p')).toBe('active');
    queue.delete('default/p');
    expect(queue.tryPop()).toBeUndefined();
    expect(queue.lengths).toEqual({ active: 0, backoff: 0, unschedulable: 0, inflight: 0 });
  });

  it('requeues with backoff after a binding error', () => {
    const { clock, queue } = setup();
    queue.add(makePod({ name: 'p' }));
    const qp = queue.tryPop()!;
    queue.requeueWithBackoff(qp);
    expect(queue.where('default/p')).toBe('backoff');
    clock.advance(1000);
    expect(queue.where('default/p')).toBe('active');
  });
});
