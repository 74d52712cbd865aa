// The per-batch consumer path: raw records stored in the ring become the same
// flows enrichEvent makes when read, counted per label set exactly as the
// flows would be, and followers' prefilters never reject a flow the full
// filter passes.
import { describe, expect, it } from 'vitest';
import { ipv4ToNumber } from '../../src/dataplane/ip.js';
import { EVENT_TYPE, POLICY_VERDICT, type RawFlowEvent } from '../../src/dataplane/maps/events.js';
import { enrichEvent } from '../../src/agent/flows/enrich.js';
import { compileFilters, type FlowFilter } from '../../src/agent/flows/filter.js';
import { ingestBatch } from '../../src/agent/flows/ingest.js';
import { compilePrefilter } from '../../src/agent/flows/prefilter.js';
import { FlowRing } from '../../src/agent/flows/ring.js';
import { RawTally, tallyFlows, type FlowTally } from '../../src/agent/flows/tally.js';
import { context, rawEvent } from '../helpers/flows-fixtures.js';

/** struct flow_event bytes of a decoded event (the inverse of decodeFlowEvent). */
function encode(e: RawFlowEvent): Buffer {
  const b = Buffer.alloc(64);
  b.writeBigUInt64LE(e.tsNs, 0);
  b.writeUInt8(e.type, 8);
  b.writeUInt8(e.dir === 'ingress' ? 1 : 0, 9);
  b.writeUInt8(e.proto, 10);
  b.writeUInt8(e.tcpFlags, 11);
  b.writeInt32LE(e.reason, 12);
  b.writeUInt32LE(e.ifindex, 16);
  b.writeUInt32LE(e.revNatId, 20);
  b.writeUInt32LE(e.backendId, 24);
  b.writeUInt32BE(ipv4ToNumber(e.saddr), 28);
  b.writeUInt32BE(ipv4ToNumber(e.daddr), 32);
  b.writeUInt32BE(ipv4ToNumber(e.origDaddr), 36);
  b.writeUInt16BE(e.sport, 40);
  b.writeUInt16BE(e.dport, 42);
  b.writeUInt16BE(e.origDport, 44);
  b.writeUInt8(e.verdict, 46);
  b.writeBigUInt64LE(e.cookie, 48);
  b.writeUInt32LE(e.srcIdentity, 56);
  b.writeUInt32LE(e.dstIdentity, 60);
  return b;
}

/** A mixed batch: both translation paths, drops of known and unknown reasons, policy verdicts, UDP and ICMP. */
const EVENTS: RawFlowEvent[] = [
  rawEvent(),
  rawEvent({ tsNs: 2_000_000_123n }),
  rawEvent({ type: EVENT_TYPE.sockTranslate, saddr: '0.0.0.0', sport: 0, ifindex: 0, tcpFlags: 0, cookie: 12345678901234n }),
  rawEvent({ type: EVENT_TYPE.tcTranslate, proto: 17, tcpFlags: 0 }),
  rawEvent({ type: EVENT_TYPE.drop, reason: -132, daddr: '10.96.0.10', dport: 80 }),
  rawEvent({ type: EVENT_TYPE.drop, reason: -140, dir: 'ingress', verdict: POLICY_VERDICT.denied, srcIdentity: 1000, dstIdentity: 1001, revNatId: 0 }),
  rawEvent({ type: EVENT_TYPE.drop, reason: -140, dir: 'ingress', verdict: POLICY_VERDICT.denied, revNatId: 0 }),
  rawEvent({ type: EVENT_TYPE.drop, reason: -199 }),
  rawEvent({ type: EVENT_TYPE.drop, reason: -198, proto: 1 }),
  rawEvent({ type: EVENT_TYPE.policy, dir: 'ingress', verdict: POLICY_VERDICT.allowed, revNatId: 0, dstIdentity: 1001 }),
  rawEvent({ type: EVENT_TYPE.policy, dir: 'egress', verdict: POLICY_VERDICT.none, revNatId: 0, proto: 47 }),
  rawEvent({ type: EVENT_TYPE.policy, dir: 'egress', verdict: POLICY_VERDICT.reply, revNatId: 0 }),
  rawEvent({ daddr: '10.200.0.99', revNatId: 77 }),
];

/** Counts by label set, independent of order and of how entries were split. */
function byLabels(t: FlowTally): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, list] of Object.entries(t)) {
    for (const x of list as { labels: object; count: number }[]) {
      const k = `${name} ${JSON.stringify(Object.entries(x.labels).sort())}`;
      out[k] = (out[k] ?? 0) + x.count;
    }
  }
  return out;
}

describe('batch ingest into the ring', () => {
  it('a stored record reads back as the flow enrichEvent makes of it, with its sequence number', () => {
    const ctx = context();
    const ring = new FlowRing(64);
    const res = ingestBatch(ring, EVENTS.map(encode), ctx, ctx.clockOffsetNs);
    expect(res).toMatchObject({ stored: EVENTS.length, refused: 0 });
    expect(ring.written).toBe(EVENTS.length);
    EVENTS.forEach((e, i) => expect(ring.at(i + 1)).toEqual({ ...enrichEvent(e, ctx)!, seq: i + 1 }));
    // Built once: the second read is the same object.
    expect(ring.at(1)).toBe(ring.at(1));
  });

  it('refuses short records and unknown types (decode stage), keeps the rest', () => {
    const ctx = context();
    const ring = new FlowRing(8);
    const odd = encode(rawEvent());
    odd[8] = 9;
    const res = ingestBatch(ring, [encode(rawEvent()), Buffer.alloc(10), odd], ctx, 0n);
    expect(res).toMatchObject({ stored: 1, refused: 2 });
    expect(ring.written).toBe(1);
  });

  it('directory answers are those at arrival time, not at read time', () => {
    const ctx = context();
    const ring = new FlowRing(8);
    ingestBatch(ring, [encode(rawEvent())], ctx, 0n);
    ctx.endpoints.delete('10.200.0.11');
    ingestBatch(ring, [encode(rawEvent())], ctx, 0n);
    expect(ring.at(1)?.destination?.pod).toBe('web-1');
    expect(ring.at(2)?.destination).toBeUndefined();
  });

  it('laps like pushed flows: overwritten records are gone, the newest read back', () => {
    const ctx = context();
    const ring = new FlowRing(4);
    for (let i = 0; i < 3; i++) ingestBatch(ring, EVENTS.slice(0, 3).map(encode), ctx, 0n);
    expect(ring.oldestSeq).toBe(6);
    expect(ring.at(5)).toBeUndefined();
    expect(ring.at(9)?.subtype).toBe('socket-translation');
  });
});

describe('per-batch metric counts', () => {
  it('RawTally of the records equals tallyFlows of the flows they become', () => {
    const ctx = context();
    const records = [...EVENTS, ...EVENTS, EVENTS[0]].map(encode);
    const t = new RawTally();
    for (const r of records) t.add(r);
    const flows = records.map((r, i) => enrichEvent(EVENTS[i % EVENTS.length], ctx)!);
    expect(byLabels(t.toFlowTally())).toEqual(byLabels(tallyFlows(flows)));
    // A batch is a handful of label sets, not one entry per flow.
    expect(t.size).toBeLessThan(records.length);
  });

  it('tallyFlows sums each label set once per batch', () => {
    const ctx = context();
    const f = enrichEvent(rawEvent(), ctx)!;
    const t = tallyFlows([f, f, f]);
    expect(t.flows).toEqual([{ labels: { type: 'trace', verdict: 'TRANSLATED', protocol: 'TCP' }, count: 3 }]);
    expect(t.drops).toEqual([]);
  });
});

describe('follower prefilter', () => {
  const FILTERS: FlowFilter[][] = [
    [{ verdict: ['DROPPED'] }],
    [{ verdict: ['denied'] }],
    [{ type: ['drop'] }, { type: ['policy-verdict'], direction: ['ingress'] }],
    [{ type: ['translation'] }],
    [{ type: ['trace:socket-translation'] }],
    [{ protocol: ['udp'] }],
    [{ dropReason: ['unknown_199'] }],
    [{ dropReason: ['policy_denied'], pod: ['shop/web'] }],
    [{ verdict: ['FORWARDED'], port: [8080] }],
  ];

  it('never rejects a flow the full filter passes, and rejects some the filter rejects', () => {
    const ctx = context();
    let rejected = 0;
    for (const include of FILTERS) {
      // A fresh ring each time: a flow built once is checked by the full filter only.
      const ring = new FlowRing(64);
      ingestBatch(ring, EVENTS.map(encode), ctx, ctx.clockOffsetNs);
      const pre = compilePrefilter(include)!;
      expect(pre).toBeDefined();
      const full = compileFilters(include);
      for (let seq = 1; seq <= EVENTS.length; seq++) {
        const could = pre(ring, seq);
        // Checked before the flow is built, as a follower does.
        if (!could) {
          rejected++;
          expect(full(ring.at(seq)!)).toBe(false);
        }
      }
      for (let seq = 1; seq <= EVENTS.length; seq++) if (full(ring.at(seq)!)) expect(pre(ring, seq)).toBe(true);
    }
    expect(rejected).toBeGreaterThan(20);
  });

  it('has nothing to say for filters on other fields only', () => {
    expect(compilePrefilter([])).toBeUndefined();
    expect(compilePrefilter([{ pod: ['web'] }])).toBeUndefined();
    expect(compilePrefilter([{ verdict: ['DROPPED'] }, { pod: ['web'] }])).toBeUndefined();
  });
});
