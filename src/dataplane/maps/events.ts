// ebf_events_v1 records: decoder for struct flow_event in bpf/lib/events.h.
import { packed } from '../layout.js';
import { numberToIpv4 } from '../ip.js';

export const MAP_NAME = 'ebf_events_v1';

export const EVENT_TYPE = { sockTranslate: 1, tcTranslate: 2, drop: 3, policy: 4 } as const;

/** POLICY_VERDICT_* of bpf/lib/policy.h. */
export const POLICY_VERDICT = { none: 0, allowed: 1, denied: 2, reply: 3 } as const;

export const flowEventLayout = packed('flow_event', [
  ['ts_ns', 8], ['type', 1], ['dir', 1], ['proto', 1], ['tcp_flags', 1], ['reason', 4], ['ifindex', 4],
  ['rev_nat_id', 4], ['backend_id', 4], ['saddr', 4], ['daddr', 4], ['orig_daddr', 4],
  ['sport', 2], ['dport', 2], ['orig_dport', 2], ['verdict', 1], ['pad', 1], ['cookie', 8],
  ['src_identity', 4], ['dst_identity', 4],
]);

export interface RawFlowEvent {
  tsNs: bigint;
  type: number;
  dir: 'egress' | 'ingress';
  proto: number;
  tcpFlags: number;
  reason: number;
  ifindex: number;
  revNatId: number;
  backendId: number;
  saddr: string;
  daddr: string;
  origDaddr: string;
  sport: number;
  dport: number;
  origDport: number;
  verdict: number;
  cookie: bigint;
  srcIdentity: number;
  dstIdentity: number;
}

export function decodeFlowEvent(b: Buffer): RawFlowEvent {
  if (b.length < flowEventLayout.size) throw new RangeError(`flow event of ${b.length} bytes`);
  return {
    tsNs: b.readBigUInt64LE(0),
    type: b.readUInt8(8),
    dir: b.readUInt8(9) === 1 ? 'ingress' : 'egress',
    proto: b.readUInt8(10),
    tcpFlags: b.readUInt8(11),
    reason: b.readInt32LE(12),
    ifindex: b.readUInt32LE(16),
    revNatId: b.readUInt32LE(20),
    backendId: b.readUInt32LE(24),
    saddr: numberToIpv4(b.readUInt32BE(28)),
    daddr: numberToIpv4(b.readUInt32BE(32)),
    origDaddr: numberToIpv4(b.readUInt32BE(36)),
    sport: b.readUInt16BE(40),
    dport: b.readUInt16BE(42),
    origDport: b.readUInt16BE(44),
    verdict: b.readUInt8(46),
    cookie: b.readBigUInt64LE(48),
    srcIdentity: b.readUInt32LE(56),
    dstIdentity: b.readUInt32LE(60),
  };
}

// ebf_events_cfg_v1: u32 sampling period per event type (bpf/lib/events.h).
export const CONFIG_MAP_NAME = 'ebf_events_cfg_v1';
/** EVENT_SAMPLE_OFF: the type emits nothing. */
export const EVENT_SAMPLE_OFF = 0xffffffff;
/** METRIC_EVENTS_SAMPLED_OUT of events.h: trace events skipped by sampling (metrics map index). */
export const METRIC_EVENTS_SAMPLED_OUT = 64;
/** Trace types the knob applies to; drops are always emitted. */
export const SAMPLED_EVENT_TYPES = [EVENT_TYPE.sockTranslate, EVENT_TYPE.tcTranslate, EVENT_TYPE.policy] as const;

/** A sampling setting as the agent's flag says it (0 = off, 1 = every event, N = 1 in N) -> map value. */
export function encodeSamplePeriod(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= EVENT_SAMPLE_OFF) throw new RangeError(`sampling ${n} must be an integer 0 (off), 1 (all) or N (1 in N)`);
  return n === 0 ? EVENT_SAMPLE_OFF : n;
}

/** Map value -> setting (0 = off, 1 = every event, N = 1 in N); a fresh map's 0 is "every event". */
export function decodeSamplePeriod(v: number): number {
  if (v === EVENT_SAMPLE_OFF) return 0;
  return v <= 1 ? 1 : v;
}
