// Reading flows out of the ring: history (last N, since/until) and follow.
// A follower reads through a sequence cursor at the pace its consumer pulls
// (an async generator), so back-pressure costs no memory: if the ring laps
// it, it yields one "lost" notice with the number of flows it missed.
import { compileFilters, type FlowFilter, type FlowPredicate } from './filter.js';
import { compilePrefilter } from './prefilter.js';
import type { FlowRing } from './ring.js';
import type { Flow } from './types.js';

export interface FlowQuery {
  include?: FlowFilter[];
  exclude?: FlowFilter[];
  /** The last N matching flows of the history (0/undefined: all held, or none when following without since). */
  last?: number;
  /** Unix-epoch nanoseconds, inclusive bounds. */
  sinceNs?: bigint;
  untilNs?: bigint;
  /** Keep streaming new flows after the history. */
  follow?: boolean;
}

export type FlowItem = { flow: Flow } | { lost: { count: number; fromSeq: number; toSeq: number } };

function timeOk(f: Flow, q: FlowQuery): boolean {
  if (q.sinceNs === undefined && q.untilNs === undefined) return true;
  const t = BigInt(f.timeNs);
  return (q.sinceNs === undefined || t >= q.sinceNs) && (q.untilNs === undefined || t <= q.untilNs);
}

/** Matching flows held now, oldest first, honouring last/since/until. */
export function historyFlows(ring: FlowRing, q: FlowQuery, match: FlowPredicate = compileFilters(q.include, q.exclude)): Flow[] {
  const out: Flow[] = [];
  const last = q.last && q.last > 0 ? q.last : Infinity;
  for (let s = ring.nextSeq - 1; s >= ring.oldestSeq && out.length < last; s--) {
    const f = ring.at(s)!;
    if (q.sinceNs !== undefined && BigInt(f.timeNs) < q.sinceNs) continue;
    if (timeOk(f, q) && match(f)) out.push(f);
  }
  return out.reverse();
}

/** History (when asked for) then, with follow, new flows until the signal aborts or `untilNs` passes. */
export async function* streamFlows(ring: FlowRing, q: FlowQuery, signal?: AbortSignal): AsyncGenerator<FlowItem> {
  const match = compileFilters(q.include, q.exclude);
  const start = ring.nextSeq;
  const wantHistory = !q.follow || (q.last ?? 0) > 0 || q.sinceNs !== undefined;
  if (wantHistory) {
    for (const flow of historyFlows(ring, q, match)) {
      if (signal?.aborted) return;
      yield { flow };
    }
  }
  if (!q.follow) return;
  // Flows of a class the filter rejects are skipped without being built.
  const could = compilePrefilter(q.include);
  let cursor = start;
  while (!signal?.aborted) {
    if (cursor < ring.oldestSeq) {
      const count = ring.oldestSeq - cursor;
      ring.noteFollowerLost(count);
      yield { lost: { count, fromSeq: cursor, toSeq: ring.oldestSeq - 1 } };
      cursor = ring.oldestSeq;
      continue;
    }
    if (cursor >= ring.nextSeq) {
      await ring.waitForPush(signal);
      continue;
    }
    if (could && q.untilNs === undefined && !could(ring, cursor)) {
      cursor++;
      continue;
    }
    const f = ring.at(cursor++)!;
    if (q.untilNs !== undefined && BigInt(f.timeNs) > q.untilNs) return;
    if (timeOk(f, q) && match(f)) yield { flow: f };
  }
}
