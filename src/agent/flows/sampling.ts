// Trace event sampling in the dataplane (ebf_events_cfg_v1): per trace type
// every event (1), 1 in N, or none (0). Drops, policy denials included, are
// always emitted whatever this says. Parsed from the agent's
// --flow-trace-sample flag and written when the flow observer starts.
import { decodeSamplePeriod, encodeSamplePeriod, EVENT_TYPE } from '../../dataplane/maps/events.js';

/** Sampling per trace type: 0 = off, 1 = every event (the default), N = 1 in N. */
export interface TraceSampling {
  /** Socket-level Service translations (one per connect). */
  socket?: number;
  /** tc-level Service translations of new flows. */
  tc?: number;
  /** Policy verdicts of new connections that were allowed or not enforced. */
  policy?: number;
}

export const TRACE_KINDS = ['socket', 'tc', 'policy'] as const satisfies readonly (keyof TraceSampling)[];

const TYPE_OF: Record<keyof TraceSampling, number> = {
  socket: EVENT_TYPE.sockTranslate, tc: EVENT_TYPE.tcTranslate, policy: EVENT_TYPE.policy,
};

/** A --flow-trace-sample value that could not be understood. */
export class TraceSamplingError extends Error {
  readonly code = 'EBF_FLOW_SAMPLING_INVALID';
}

function period(raw: string, what: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new TraceSamplingError(`${what}: "${raw}" is not 0 (off), 1 (every event) or N (1 in N)`);
  const n = Number(raw.trim());
  try {
    encodeSamplePeriod(n);
  } catch (err) {
    throw new TraceSamplingError(`${what}: ${(err as Error).message}`);
  }
  return n;
}

/** Parses "N" (every trace type) or "socket=N,tc=N,policy=N" (others stay at every event). */
export function parseTraceSampling(text: string): TraceSampling {
  const s = text.trim();
  if (!s.includes('=')) {
    const n = period(s, 'flow trace sampling');
    return { socket: n, tc: n, policy: n };
  }
  const out: TraceSampling = {};
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [k, v, extra] = part.split('=');
    if (extra !== undefined || v === undefined || !(TRACE_KINDS as readonly string[]).includes(k.trim())) {
      throw new TraceSamplingError(`flow trace sampling: "${part}" is not socket=N, tc=N or policy=N`);
    }
    out[k.trim() as keyof TraceSampling] = period(v, k.trim());
  }
  return out;
}

/** Where the setting lives: the dataplane's eventsConfig map (or a test double). */
export interface SamplingMap {
  get(type: number): number | undefined;
  set(type: number, period: number): void;
}

/** Writes every trace type's setting (unset ones: every event), so a restart without the flag restores full visibility. */
export function applyTraceSampling(map: SamplingMap, s: TraceSampling): void {
  for (const kind of TRACE_KINDS) map.set(TYPE_OF[kind], encodeSamplePeriod(s[kind] ?? 1));
}

/** The settings in effect, per trace type. */
export function readTraceSampling(map: SamplingMap): Required<TraceSampling> {
  const out = { socket: 1, tc: 1, policy: 1 };
  for (const kind of TRACE_KINDS) out[kind] = decodeSamplePeriod(map.get(TYPE_OF[kind]) ?? 0);
  return out;
}
