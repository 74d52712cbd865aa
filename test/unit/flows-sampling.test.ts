// Trace sampling settings: the flag's syntax, and its map encoding (0 = off,
// 1 = every event, N = 1 in N; a fresh all-zero map means every event).
import { describe, expect, it } from 'vitest';
import { decodeSamplePeriod, encodeSamplePeriod, EVENT_SAMPLE_OFF, EVENT_TYPE } from '../../src/dataplane/maps/events.js';
import { applyTraceSampling, parseTraceSampling, readTraceSampling, TraceSamplingError } from '../../src/agent/flows/sampling.js';

class FakeMap {
  readonly m = new Map<number, number>();
  get(k: number) {
    return this.m.get(k);
  }
  set(k: number, v: number) {
    this.m.set(k, v);
  }
}

describe('trace sampling', () => {
  it('parses one setting for every trace type or one per type', () => {
    expect(parseTraceSampling('0')).toEqual({ socket: 0, tc: 0, policy: 0 });
    expect(parseTraceSampling(' 100 ')).toEqual({ socket: 100, tc: 100, policy: 100 });
    expect(parseTraceSampling('socket=10, policy=0')).toEqual({ socket: 10, policy: 0 });
  });

  it('refuses what it cannot read, with a stable code', () => {
    for (const bad of ['', '-1', '1.5', 'x', 'socket', 'drop=0', 'socket=1=2', 'tc=', '4294967295']) {
      expect(() => parseTraceSampling(bad), bad).toThrow(TraceSamplingError);
    }
    try {
      parseTraceSampling('drop=0');
    } catch (err) {
      expect((err as TraceSamplingError).code).toBe('EBF_FLOW_SAMPLING_INVALID');
    }
  });

  it('encodes off as EVENT_SAMPLE_OFF and reads a fresh map as every event', () => {
    expect(encodeSamplePeriod(0)).toBe(EVENT_SAMPLE_OFF);
    expect(encodeSamplePeriod(1)).toBe(1);
    expect(encodeSamplePeriod(1000)).toBe(1000);
    expect(() => encodeSamplePeriod(-1)).toThrow(RangeError);
    for (const n of [0, 1, 2, 1000]) expect(decodeSamplePeriod(encodeSamplePeriod(n))).toBe(n);
    expect(decodeSamplePeriod(0)).toBe(1);
  });

  it('writes every trace type (unset ones back to every event) and never the drop type', () => {
    const map = new FakeMap();
    applyTraceSampling(map, { socket: 0 });
    expect(map.m.get(EVENT_TYPE.sockTranslate)).toBe(EVENT_SAMPLE_OFF);
    expect(map.m.get(EVENT_TYPE.tcTranslate)).toBe(1);
    expect(map.m.get(EVENT_TYPE.policy)).toBe(1);
    expect(map.m.has(EVENT_TYPE.drop)).toBe(false);
    expect(readTraceSampling(map)).toEqual({ socket: 0, tc: 1, policy: 1 });
    applyTraceSampling(map, {});
    expect(readTraceSampling(map)).toEqual({ socket: 1, tc: 1, policy: 1 });
    expect(readTraceSampling(new FakeMap())).toEqual({ socket: 1, tc: 1, policy: 1 });
  });
});
