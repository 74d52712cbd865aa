// Per-batch work on kernel flow events, kept small because it runs for every
// event: check the record, look its endpoints and service up (cached for the
// batch), count it for the metrics by its raw label fields, and store the raw
// record in the ring. Decoding and the Flow object wait until someone reads
// the flow (FlowRing.at), so unread events cost no objects.
import { numberToIpv4 } from '../../dataplane/ip.js';
import { decodeFlowEvent, EVENT_TYPE, flowEventLayout } from '../../dataplane/maps/events.js';
import type { EndpointDirectory, EndpointRecord, ServiceDirectory, ServiceRecord } from './directory.js';
import { buildFlow, type EventRefs, type UnsequencedFlow } from './enrich.js';
import type { FlowRing, RecordDecoder } from './ring.js';
import { RawTally } from './tally.js';

export interface IngestContext {
  node: string;
  endpoints: EndpointDirectory;
  services: ServiceDirectory;
}

/** What an event noted on arrival: its batch's clock offset and the directories' answers then. */
interface Noted extends EventRefs {
  batch: { node: string; clockOffsetNs: bigint };
}

const RECORD_SIZE = flowEventLayout.size;
const KNOWN_TYPES = new Set<number>(Object.values(EVENT_TYPE));

/** The ring's decoder for struct flow_event records. */
export const flowEventDecoder: RecordDecoder<Noted> = {
  size: RECORD_SIZE,
  build(bytes: Buffer, n: Noted): UnsequencedFlow {
    // Known type and size were checked on arrival: buildFlow cannot refuse it.
    return buildFlow(decodeFlowEvent(bytes), n.batch, n)!;
  },
};

/** Why a record was not stored (counted as lost at the decode stage). */
export function recordProblem(r: Buffer): string | undefined {
  if (r.length < RECORD_SIZE) return `flow event of ${r.length} bytes`;
  if (!KNOWN_TYPES.has(r[8])) return `unknown event type ${r[8]}`;
  return undefined;
}

export interface IngestResult {
  /** Records stored in the ring. */
  stored: number;
  /** Records refused (short or of an unknown type). */
  refused: number;
  /** The batch counted by metric label set. */
  tally: RawTally;
}

/** Stores one batch of raw records in the ring; `clockOffsetNs` maps their kernel timestamps to wall time. */
export function ingestBatch(ring: FlowRing, records: readonly Buffer[], ctx: IngestContext, clockOffsetNs: bigint): IngestResult {
  const batch = { node: ctx.node, clockOffsetNs };
  // Directory answers are cached for the batch only: a pod or Service change
  // shows from the next batch on (a millisecond later at most).
  const eps = new Map<number, EndpointRecord | undefined>();
  const svcs = new Map<number, ServiceRecord | undefined>();
  const endpointOf = (addr: number): EndpointRecord | undefined => {
    if (addr === 0) return undefined;
    if (eps.has(addr)) return eps.get(addr);
    const rec = ctx.endpoints.byIp(numberToIpv4(addr));
    eps.set(addr, rec);
    return rec;
  };
  const serviceOf = (id: number): ServiceRecord | undefined => {
    if (id === 0) return undefined;
    if (svcs.has(id)) return svcs.get(id);
    const rec = ctx.services.byId(id);
    svcs.set(id, rec);
    return rec;
  };
  const tally = new RawTally();
  const kept: Buffer[] = [];
  const noted: Noted[] = [];
  let refused = 0;
  for (const r of records) {
    if (recordProblem(r) !== undefined) {
      refused++;
      continue;
    }
    const saddr = r.readUInt32BE(28);
    const daddr = r.readUInt32BE(32);
    noted.push({
      batch,
      source: endpointOf(saddr),
      destination: endpointOf(daddr === 0 ? r.readUInt32BE(36) : daddr),
      service: serviceOf(r.readUInt32LE(20)),
    });
    kept.push(r);
    tally.add(r);
  }
  ring.pushRecords(flowEventDecoder, kept, noted);
  return { stored: kept.length, refused, tally };
}
