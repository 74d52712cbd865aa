// Per-batch aggregation of the flow counters: a batch of flows (or of raw
// records, RawTally) becomes a few (label set, count) pairs, so prom-client
// sees one inc per label set and batch instead of one (with its label
// hashing) per flow.
import { EVENT_TYPE, POLICY_VERDICT } from '../../dataplane/maps/events.js';
import { DROP_REASONS } from '../../dataplane/maps/metrics.js';
import { dropReasonName, protocolName } from './enrich.js';
import type { Flow } from './types.js';

export interface Tallied<L> {
  labels: L;
  count: number;
}

export interface FlowTally {
  flows: Tallied<{ type: string; verdict: string; protocol: string }>[];
  drops: Tallied<{ reason: string; direction: string }>[];
  verdicts: Tallied<{ direction: string; verdict: string }>[];
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'ICMP', 'SCTP']);
const REASONS = new Set(Object.values(DROP_REASONS));
/** Bounded protocol label: the named ones or "other". */
export const protoLabel = (p: string): string => (PROTOCOLS.has(p) ? p : 'other');
/** Bounded drop reason label: a known reason or "unknown". */
export const reasonLabel = (r: string | undefined): string => (r && REASONS.has(r) ? r : 'unknown');

function add<L>(m: Map<string, Tallied<L>>, key: string, labels: () => L): void {
  const t = m.get(key);
  if (t) t.count++;
  else m.set(key, { labels: labels(), count: 1 });
}

/** Counts a batch by the label sets of ebbflow_flows_processed_total, _drops_total and _policy_verdicts_total. */
export function tallyFlows(batch: readonly Flow[]): FlowTally {
  const flows = new Map<string, Tallied<{ type: string; verdict: string; protocol: string }>>();
  const drops = new Map<string, Tallied<{ reason: string; direction: string }>>();
  const verdicts = new Map<string, Tallied<{ direction: string; verdict: string }>>();
  for (const f of batch) {
    add(flows, `${f.type}\0${f.verdict}\0${f.protocol}`, () => ({ type: f.type, verdict: f.verdict, protocol: protoLabel(f.protocol) }));
    if (f.type === 'drop') add(drops, `${f.dropReason}\0${f.direction}`, () => ({ reason: reasonLabel(f.dropReason), direction: f.direction }));
    const p = f.policy;
    if (p && (p.verdict === 'allowed' || p.verdict === 'denied')) {
      add(verdicts, `${p.direction}\0${p.verdict}`, () => ({ direction: p.direction, verdict: p.verdict }));
    }
  }
  return { flows: [...flows.values()], drops: [...drops.values()], verdicts: [...verdicts.values()] };
}

const TRACE_TYPES = new Set<number>([EVENT_TYPE.sockTranslate, EVENT_TYPE.tcTranslate]);

/** Counts raw flow_event records by the fields the metric labels derive from, without building flows. */
export class RawTally {
  readonly #counts = new Map<number, number>();

  /** Counts one record (known type and full size checked by the caller). */
  add(r: Buffer): void {
    const type = r[8];
    const verdict = r[46];
    let key = ((type * 256 + r[9]) * 256 + r[10]) * 256 + verdict;
    if (type === EVENT_TYPE.drop) {
      const reason = r.readInt32LE(12);
      key = key * 2 ** 21 + (DROP_REASONS[reason] !== undefined ? -reason : 0);
    } else {
      key *= 2 ** 21;
    }
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  get size(): number {
    return this.#counts.size;
  }

  /** The counts as label sets, the same as tallyFlows of the flows these records become. */
  toFlowTally(): FlowTally {
    const out: FlowTally = { flows: [], drops: [], verdicts: [] };
    for (const [key, count] of this.#counts) {
      const reason = -(key % 2 ** 21);
      let k = Math.floor(key / 2 ** 21);
      const verdict = k % 256;
      k = Math.floor(k / 256);
      const proto = k % 256;
      k = Math.floor(k / 256);
      const direction = k % 256 === 1 ? 'ingress' : 'egress';
      const type = Math.floor(k / 256);
      const protocol = protoLabel(protocolName(proto));
      if (TRACE_TYPES.has(type)) {
        out.flows.push({ labels: { type: 'trace', verdict: 'TRANSLATED', protocol }, count });
      } else if (type === EVENT_TYPE.policy) {
        out.flows.push({ labels: { type: 'policy-verdict', verdict: verdict === POLICY_VERDICT.denied ? 'DROPPED' : 'FORWARDED', protocol }, count });
      } else if (type === EVENT_TYPE.drop) {
        out.flows.push({ labels: { type: 'drop', verdict: 'DROPPED', protocol }, count });
        out.drops.push({ labels: { reason: reasonLabel(reason === 0 ? undefined : dropReasonName(reason)), direction }, count });
      }
      const pv = verdict === POLICY_VERDICT.allowed ? 'allowed' : verdict === POLICY_VERDICT.denied ? 'denied' : undefined;
      if (pv && (type === EVENT_TYPE.policy || type === EVENT_TYPE.drop)) out.verdicts.push({ labels: { direction, verdict: pv }, count });
    }
    return out;
  }
}
