// Work queue semantics (dedupe, processing set, delayed and rate-limited
// adds, forget, shutdown) and the rate limiters / back-off on a fake clock.
import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../src/client/backoff.js';
import { FakeClock, sleep } from '../../src/client/clock.js';
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter } from '../../src/client/ratelimit.js';
import { createWorkQueue } from '../../src/client/workqueue.js';

const flush = () => new Promise((r) => setImmediate(r));

describe('work queue', () => {
  it('dedupes items waiting in the queue', async () => {
    const q = createWorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  it('never hands an item to two workers; a re-add while processing queues it after done()', async () => {
    const q = createWorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    const item = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await flush();
    expect(second).toBeUndefined();
    q.done(item!);
    await flush();
    expect(second).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('wakes a waiting worker on add', async () => {
    const q = createWorkQueue<number>({ clock: new FakeClock() });
    const p = q.get();
    q.add(7);
    expect(await p).toBe(7);
  });

  it('addAfter delays and coalesces to the earliest time', async () => {
    const clock = new FakeClock();
    const q = createWorkQueue<string>({ clock });
    q.addAfter('x', 100);
    q.addAfter('x', 50);
    q.addAfter('x', 200);
    expect(q.length).toBe(0);
    clock.advance(49);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    clock.advance(500);
    expect(q.length).toBe(1);
  });

  it('addRateLimited backs off exponentially per item until forget()', async () => {
    const clock = new FakeClock();
    const q = createWorkQueue<string>({ clock, rateLimiter: new ItemExponentialRateLimiter<string>(10, 1000) });
    const when: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = clock.now();
      q.addRateLimited('k');
      while (q.length === 0) clock.advance(1);
      when.push(clock.now() - start);
      q.done(await q.get() as string);
    }
    expect(when).toEqual([10, 20, 40, 80]);
    expect(q.numRequeues('k')).toBe(4);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    const start = clock.now();
    q.addRateLimited('k');
    while (q.length === 0) clock.advance(1);
    expect(clock.now() - start).toBe(10);
  });

  it('shutDown releases waiting workers and ignores new adds', async () => {
    const q = createWorkQueue<string>({ clock: new FakeClock() });
    const p = q.get();
    q.shutDown();
    expect(await p).toBeUndefined();
    q.add('a');
    expect(await q.get()).toBeUndefined();
    expect(q.shuttingDown).toBe(true);
  });
});

describe('rate limiters and back-off', () => {
  it('caps the per-item exponential delay', () => {
    const l = new ItemExponentialRateLimiter<string>(5, 100);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => l.when('a'))).toEqual([5, 10, 20, 40, 80, 100, 100]);
    expect(l.when('b')).toBe(5);
  });

  it('token bucket allows a burst then spaces by qps', () => {
    const clock = new FakeClock();
    const b = new BucketRateLimiter<string>(10, 2, clock);
    expect(b.when()).toBe(0);
    expect(b.when()).toBe(0);
    expect(b.when()).toBeCloseTo(100);
    clock.advance(1000);
    expect(b.when()).toBe(0);
  });

  it('max-of takes the longest wait', () => {
    const clock = new FakeClock();
    const l = new MaxOfRateLimiter<string>(new ItemExponentialRateLimiter<string>(5, 1000), new BucketRateLimiter<string>(1, 1, clock));
    expect(l.when('a')).toBe(5);
    expect(l.when('a')).toBeCloseTo(1000);
  });

  it('bounded exponential back-off resets after success', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    expect(backoffDelay({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 1 }, 1)).toBe(300);
  });

  it('sleep on a fake clock resolves on advance or abort', async () => {
    const clock = new FakeClock();
    let done = false;
    void sleep(clock, 50).then(() => (done = true));
    clock.advance(49);
    await flush();
    expect(done).toBe(false);
    clock.advance(1);
    await flush();
    expect(done).toBe(true);
    const ac = new AbortController();
    let aborted = false;
    void sleep(clock, 1e9, ac.signal).then(() => (aborted = true));
    ac.abort();
    await flush();
    expect(aborted).toBe(true);
  });
});
