// ebf_metrics_v1: per-CPU packet/byte counters indexed by event kind or
// drop reason. Mirrors struct metrics_value and the METRIC_* / DROP_*
// constants in bpf/lib/metrics.h and bpf/lib/common.h.
import { packed } from '../layout.js';
import type { MapHandle } from '../typed-map.js';

export const MAP_NAME = 'ebf_metrics_v1';
export const metricsValueLayout = packed('metrics_value', [['packets', 8], ['bytes', 8]]);

export const METRIC = {
  sockTranslate: 1,
  sockNoBackend: 2,
  tcTranslateNew: 3,
  tcTranslate: 4,
  tcReverseNat: 5,
  eventsLost: 6,
  sockReverseTranslate: 7,
  nodePortTranslateNew: 8,
  nodePortTranslate: 9,
  nodePortReverseNat: 10,
  nodePortSnat: 11,
} as const;

/** DROP_* codes of bpf/lib/common.h and the names metrics and flows use. */
export const DROP_REASONS: Record<number, string> = {
  [-130]: 'invalid_packet',
  [-131]: 'no_service',
  [-132]: 'no_backend',
  [-133]: 'conntrack_create_failed',
  [-134]: 'checksum_rewrite_failed',
  [-135]: 'unsupported_l4',
  [-136]: 'backend_gone',
  [-137]: 'icmp_build_failed',
  [-140]: 'policy_denied',
  [-141]: 'no_local_backend',
  [-142]: 'fib_lookup_failed',
  [-143]: 'snat_ports_exhausted',
};

export interface Counter {
  packets: bigint;
  bytes: bigint;
}

/** Sums one counter over all CPUs. */
export function readCounter(handle: MapHandle, index: number): Counter {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(index);
  const raw = handle.lookup(key);
  const out = { packets: 0n, bytes: 0n };
  if (!raw) return out;
  for (let off = 0; off + 16 <= raw.length; off += 16) {
    out.packets += raw.readBigUInt64LE(off);
    out.bytes += raw.readBigUInt64LE(off + 8);
  }
  return out;
}

export function readDropCounter(handle: MapHandle, reason: number): Counter {
  return readCounter(handle, -reason);
}
