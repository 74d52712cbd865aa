// The bounded flow ring and reading from it: sequence numbers, overwrite,
// history queries, follow with back-pressure and lost notices.
import { describe, expect, it } from 'vitest';
import { enrichEvent } from '../../src/agent/flows/enrich.js';
import { historyFlows, streamFlows, type FlowItem } from '../../src/agent/flows/query.js';
import { FlowRing } from '../../src/agent/flows/ring.js';
import { context, rawEvent } from '../helpers/flows-fixtures.js';

const flow = (i: number, over = {}) => enrichEvent(rawEvent({ tsNs: BigInt(i) * 1_000_000_000n, sport: 1000 + i, ...over }), context())!;
const fill = (ring: FlowRing, from: number, to: number) => ring.push(Array.from({ length: to - from + 1 }, (_, k) => flow(from + k)));

describe('FlowRing', () => {
  it('numbers flows from 1 and keeps the newest `capacity`', () => {
    const ring = new FlowRing(4);
    expect(ring.oldestSeq).toBe(1);
    expect(ring.size).toBe(0);
    const pushed = fill(ring, 1, 6);
    expect(pushed.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ring.size).toBe(4);
    expect(ring.oldestSeq).toBe(3);
    expect(ring.written).toBe(6);
    expect(ring.at(2)).toBeUndefined();
    expect(ring.at(3)?.sourcePort).toBe(1003);
    expect(ring.at(7)).toBeUndefined();
    expect(() => new FlowRing(0)).toThrow(RangeError);
  });

  it('history: last N matching, since/until bounds, filters', () => {
    const ring = new FlowRing(100);
    fill(ring, 1, 10);
    ring.push([flow(11, { proto: 17, tcpFlags: 0 })]);
    expect(historyFlows(ring, {}).map((f) => f.seq)).toEqual([...Array(11).keys()].map((i) => i + 1));
    expect(historyFlows(ring, { last: 3 }).map((f) => f.seq)).toEqual([9, 10, 11]);
    expect(historyFlows(ring, { last: 2, include: [{ protocol: ['tcp'] }] }).map((f) => f.seq)).toEqual([9, 10]);
    const t = (i: number) => BigInt(ring.at(i)!.timeNs);
    expect(historyFlows(ring, { sinceNs: t(4), untilNs: t(6) }).map((f) => f.seq)).toEqual([4, 5, 6]);
    expect(historyFlows(ring, { exclude: [{ protocol: ['TCP'] }] }).map((f) => f.seq)).toEqual([11]);
  });

  it('follow: history then live flows, waking on push, ending on abort', async () => {
    const ring = new FlowRing(100);
    fill(ring, 1, 3);
    const ac = new AbortController();
    const got: FlowItem[] = [];
    const run = (async () => {
      for await (const it of streamFlows(ring, { follow: true, last: 1 }, ac.signal)) got.push(it);
    })();
    await new Promise((r) => setTimeout(r, 10));
    fill(ring, 4, 5);
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await run;
    expect(got.map((i) => ('flow' in i ? i.flow.seq : -1))).toEqual([3, 4, 5]);
  });

  it('follow without last or since sends only new flows; until ends the stream', async () => {
    const ring = new FlowRing(100);
    fill(ring, 1, 3);
    const untilNs = BigInt(flow(5).timeNs);
    const it = streamFlows(ring, { follow: true, untilNs });
    const first = it.next();
    fill(ring, 4, 6);
    expect(((await first).value as { flow: { seq: number } }).flow.seq).toBe(4);
    expect(((await it.next()).value as { flow: { seq: number } }).flow.seq).toBe(5);
    expect((await it.next()).done).toBe(true);
  });

  it('a follower that does not pull is lapped: one lost notice with the count, then it continues', async () => {
    const ring = new FlowRing(8);
    const it = streamFlows(ring, { follow: true });
    const first = it.next();
    fill(ring, 1, 1);
    expect(((await first).value as { flow: { seq: number } }).flow.seq).toBe(1);
    fill(ring, 2, 30); // follower holds no buffer: the ring overwrites 2..22
    const lost = (await it.next()).value as Extract<FlowItem, { lost: unknown }>;
    expect(lost.lost).toEqual({ count: 21, fromSeq: 2, toSeq: 22 });
    const rest: number[] = [];
    for (let i = 0; i < 8; i++) rest.push(((await it.next()).value as { flow: { seq: number } }).flow.seq);
    expect(rest).toEqual([23, 24, 25, 26, 27, 28, 29, 30]);
    expect(ring.followerLost).toBe(21);
    await it.return(undefined);
  });
});
