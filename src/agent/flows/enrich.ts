// Turns one decoded kernel event into a Flow: classifies it, converts the
// kernel's monotonic timestamp to wall-clock time, names protocol, TCP flags
// and drop reason, and looks up endpoints and the service in the directories.
import { DROP_REASONS } from '../../dataplane/maps/metrics.js';
import { EVENT_TYPE, POLICY_VERDICT, type RawFlowEvent } from '../../dataplane/maps/events.js';
import type { EndpointDirectory, EndpointRecord, ServiceDirectory, ServiceRecord } from './directory.js';
import type { Flow, FlowEndpoint, PolicyVerdict } from './types.js';

/** A flow before the ring gives it a sequence number. */
export type UnsequencedFlow = Omit<Flow, 'seq'>;

export interface EnrichContext {
  node: string;
  endpoints: EndpointDirectory;
  services: ServiceDirectory;
  /** Wall-clock ns minus CLOCK_MONOTONIC ns (bpf_ktime_get_ns uses CLOCK_MONOTONIC). */
  clockOffsetNs: bigint;
}

/** Offset to add to a bpf_ktime_get_ns value to get Unix-epoch ns (Node's hrtime is CLOCK_MONOTONIC). */
export function monotonicOffsetNs(): bigint {
  const mono = process.hrtime.bigint();
  const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  return wall - mono;
}

const TCP_FLAG_NAMES: [number, string][] = [
  [0x01, 'FIN'], [0x02, 'SYN'], [0x04, 'RST'], [0x08, 'PSH'], [0x10, 'ACK'], [0x20, 'URG'], [0x40, 'ECE'], [0x80, 'CWR'],
];

export function tcpFlagNames(bits: number): string[] {
  return TCP_FLAG_NAMES.filter(([b]) => bits & b).map(([, n]) => n);
}

const PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
export const protocolName = (p: number): string => PROTOCOLS[p] ?? `proto-${p}`;

export function dropReasonName(code: number): string {
  return DROP_REASONS[code] ?? `unknown_${-code}`;
}

const POLICY_NAMES: Record<number, PolicyVerdict> = {
  [POLICY_VERDICT.none]: 'none', [POLICY_VERDICT.allowed]: 'allowed', [POLICY_VERDICT.denied]: 'denied', [POLICY_VERDICT.reply]: 'reply',
};

// Flows arrive in bursts within the same second: reuse its formatted prefix.
let prefixSecond = -1n;
let prefix = '';

/** RFC 3339 with nanoseconds, UTC. */
export function formatTimeNs(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  if (sec !== prefixSecond) {
    prefixSecond = sec;
    prefix = new Date(Number(sec) * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  }
  return `${prefix}.${(ns - sec * 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

// Directory records are long-lived objects: format their labels once.
const labelCache = new WeakMap<object, string[]>();
function labelList(labels: Record<string, string>): string[] {
  let l = labelCache.get(labels);
  if (!l) {
    l = Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort();
    labelCache.set(labels, l);
  }
  return l;
}

function endpoint(rec: EndpointRecord | undefined, identity: number): FlowEndpoint | undefined {
  if (!rec) return undefined;
  return {
    namespace: rec.namespace,
    pod: rec.pod,
    labels: labelList(rec.labels),
    identity: identity || rec.identity,
  };
}

/** What the directories said about an event's two sides and its service (looked up when the event arrived). */
export interface EventRefs {
  source?: EndpointRecord;
  destination?: EndpointRecord;
  service?: ServiceRecord;
}

/** The address a flow names as its destination: the backend, or the VIP when the kernel did not translate. */
const destinationOf = (e: Pick<RawFlowEvent, 'daddr' | 'origDaddr'>) => (e.daddr === '0.0.0.0' ? e.origDaddr : e.daddr);

/** Looks an event's endpoints and service up in the directories. */
export function lookupRefs(e: RawFlowEvent, ctx: Pick<EnrichContext, 'endpoints' | 'services'>): EventRefs {
  const byIp = (ip: string) => (ip && ip !== '0.0.0.0' ? ctx.endpoints.byIp(ip) : undefined);
  return { source: byIp(e.saddr), destination: byIp(destinationOf(e)), service: e.revNatId ? ctx.services.byId(e.revNatId) : undefined };
}

/** Classifies and enriches one event; undefined for an event type this agent does not know. */
export function enrichEvent(e: RawFlowEvent, ctx: EnrichContext): UnsequencedFlow | undefined {
  return buildFlow(e, ctx, lookupRefs(e, ctx));
}

/** The flow of an event whose directory lookups were done already (`refs`); undefined for an unknown type. */
export function buildFlow(e: RawFlowEvent, ctx: Pick<EnrichContext, 'node' | 'clockOffsetNs'>, refs: EventRefs): UnsequencedFlow | undefined {
  const wallNs = e.tsNs + ctx.clockOffsetNs;
  const sourceIp = e.saddr === '0.0.0.0' ? '' : e.saddr;
  const proto = protocolName(e.proto);
  const base: UnsequencedFlow = {
    time: formatTimeNs(wallNs),
    timeNs: wallNs.toString(),
    node: ctx.node,
    type: 'trace',
    subtype: 'tc-translation',
    verdict: 'FORWARDED',
    direction: e.dir,
    protocol: proto,
    sourceIp,
    sourcePort: e.sport,
    destinationIp: destinationOf(e),
    destinationPort: e.daddr === '0.0.0.0' ? e.origDport : e.dport,
    sourceIdentity: e.srcIdentity,
    destinationIdentity: e.dstIdentity,
    serviceId: e.revNatId,
    ifindex: e.ifindex,
    cookie: e.cookie.toString(),
  };
  if (e.proto === 6 && e.ifindex !== 0) base.tcpFlags = tcpFlagNames(e.tcpFlags);
  const src = endpoint(refs.source, e.srcIdentity);
  const dst = endpoint(refs.destination, e.dstIdentity);
  if (src) base.source = src;
  if (dst) base.destination = dst;
  if (e.revNatId && refs.service) base.service = { namespace: refs.service.namespace, name: refs.service.name };
  const policy = { verdict: POLICY_NAMES[e.verdict] ?? 'none', direction: e.dir } as const;
  switch (e.type) {
    case EVENT_TYPE.sockTranslate:
    case EVENT_TYPE.tcTranslate: {
      const path = e.type === EVENT_TYPE.sockTranslate ? 'socket' : 'tc';
      base.subtype = path === 'socket' ? 'socket-translation' : 'tc-translation';
      base.verdict = 'TRANSLATED';
      base.translation = { path, vip: e.origDaddr, vipPort: e.origDport, backend: e.daddr, backendPort: e.dport, backendId: e.backendId };
      break;
    }
    case EVENT_TYPE.policy:
      base.type = 'policy-verdict';
      base.subtype = 'policy';
      base.verdict = e.verdict === POLICY_VERDICT.denied ? 'DROPPED' : 'FORWARDED';
      base.policy = policy;
      break;
    case EVENT_TYPE.drop:
      base.type = 'drop';
      base.subtype = 'drop';
      base.verdict = 'DROPPED';
      base.dropReasonCode = e.reason;
      base.dropReason = dropReasonName(e.reason);
      if (e.verdict !== POLICY_VERDICT.none) base.policy = policy;
      break;
    default:
      return undefined;
  }
  return base;
}
