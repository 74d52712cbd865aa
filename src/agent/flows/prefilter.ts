// A follower's cheap first look at a flow still stored as a raw record: the
// filter fields that depend only on the record's class (type, verdict,
// protocol, direction, drop reason) are checked once per class and
// remembered, so a follower whose filter rejects most flows does not build
// them. Conservative: "could match" still goes through the full filter.
import { decodeFlowEvent, EVENT_TYPE } from '../../dataplane/maps/events.js';
import { DROP_REASONS } from '../../dataplane/maps/metrics.js';
import { buildFlow } from './enrich.js';
import { compileFilter, type FlowFilter } from './filter.js';
import type { FlowRing } from './ring.js';

/** Filter fields whose outcome a record's class decides. */
const CLASS_FIELDS = ['verdict', 'dropReason', 'direction', 'protocol', 'type'] as const satisfies readonly (keyof FlowFilter)[];

/** Number naming a record's class, or undefined when it cannot be memoized (a drop reason this agent does not know). */
export function recordClass(b: Buffer, o: number): number | undefined {
  const type = b[o + 8];
  let reason = 0;
  if (type === EVENT_TYPE.drop) {
    const r = b.readInt32LE(o + 12);
    if (DROP_REASONS[r] === undefined) return undefined;
    reason = -r;
  }
  return (((type * 256 + b[o + 9]) * 256 + b[o + 10]) * 256 + b[o + 46]) * 2 ** 21 + reason;
}

export type Prefilter = (ring: FlowRing, seq: number) => boolean;

/** A prefilter for include filters (excludes are left to the full check), or undefined when it cannot reject anything. */
export function compilePrefilter(include: FlowFilter[] = []): Prefilter | undefined {
  if (include.length === 0) return undefined;
  const restricted = include.map((f) => {
    const only: FlowFilter = {};
    for (const k of CLASS_FIELDS) if (f[k] !== undefined) (only as Record<string, unknown>)[k] = f[k];
    return Object.keys(only).length > 0 ? compileFilter(only) : undefined;
  });
  // An include filter without class fields can match any class.
  if (restricted.some((p) => p === undefined)) return undefined;
  const memo = new Map<number, boolean>();
  return (ring, seq) => {
    const rec = ring.recordAt(seq);
    if (!rec) return true;
    const cls = recordClass(rec.bytes, rec.offset);
    if (cls === undefined) return true;
    let could = memo.get(cls);
    if (could === undefined) {
      const f = { ...buildFlow(decodeFlowEvent(rec.bytes.subarray(rec.offset)), { node: '', clockOffsetNs: 0n }, {})!, seq };
      could = restricted.some((p) => p!(f));
      memo.set(cls, could);
    }
    return could;
  };
}
