// Cron schedule parsing and evaluation (UTC).
import { describe, expect, it } from 'vitest';
import { mostRecentRun, nextRun, parseSchedule } from '../../src/controllers/cron.js';

const t = (s: string) => Date.parse(s);
const next = (spec: string, from: string) => {
  const n = nextRun(parseSchedule(spec), t(from));
  return n === undefined ? undefined : new Date(n).toISOString();
};

describe('cron schedules', () => {
  it('finds the next run for common forms', () => {
    expect(next('* * * * *', '2026-03-01T10:15:30Z')).toBe('2026-03-01T10:16:00.000Z');
    expect(next('*/15 * * * *', '2026-03-01T10:15:00Z')).toBe('2026-03-01T10:30:00.000Z');
    expect(next('0 9-17/4 * * *', '2026-03-01T10:00:00Z')).toBe('2026-03-01T13:00:00.000Z');
    expect(next('30 2 * * mon-fri', '2026-03-01T00:00:00Z')).toBe('2026-03-02T02:30:00.000Z'); // 1 March 2026 is a Sunday
    expect(next('0 0 1 jan,jul *', '2026-03-01T00:00:00Z')).toBe('2026-07-01T00:00:00.000Z');
    expect(next('@hourly', '2026-03-01T10:00:00Z')).toBe('2026-03-01T11:00:00.000Z');
    expect(next('@weekly', '2026-03-02T00:00:00Z')).toBe('2026-03-08T00:00:00.000Z');
    expect(next('0 0 29 2 *', '2026-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 * * 7', '2026-03-02T00:00:00Z')).toBe('2026-03-08T00:00:00.000Z');
  });

  it('ORs day-of-month and day-of-week when both are restricted', () => {
    // The 13th, or any Friday.
    expect(next('0 0 13 * fri', '2026-03-01T00:00:00Z')).toBe('2026-03-06T00:00:00.000Z');
    expect(next('0 0 13 * fri', '2026-03-06T00:00:00Z')).toBe('2026-03-13T00:00:00.000Z');
  });

  it('rejects malformed schedules', () => {
    for (const bad of ['* * * *', '60 * * * *', '* 24 * * *', '*/0 * * * *', 'x * * * *', '5-1 * * * *']) expect(() => parseSchedule(bad)).toThrow();
  });

  it('reports the most recent missed run and how many were missed', () => {
    const s = parseSchedule('*/10 * * * *');
    expect(mostRecentRun(s, t('2026-03-01T10:00:00Z'), t('2026-03-01T10:35:00Z'))).toEqual({ time: t('2026-03-01T10:30:00Z'), missed: 3 });
    expect(mostRecentRun(s, t('2026-03-01T10:30:00Z'), t('2026-03-01T10:35:00Z'))).toEqual({ time: undefined, missed: 0 });
    // A controller down for months walks only the last week.
    const r = mostRecentRun(parseSchedule('* * * * *'), t('2025-01-01T00:00:00Z'), t('2026-03-01T10:35:00Z'));
    expect(r.time).toBe(t('2026-03-01T10:35:00Z'));
    expect(r.missed).toBe(7 * 24 * 60);
  });
});
