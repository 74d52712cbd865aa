// Standard cron schedules (5 fields, lists, ranges, steps, month and day
// names, @hourly-style descriptors) evaluated in UTC: the next run after a
// time and the runs between two times, as the CronJob controller needs.

export interface Schedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Day-of-month and day-of-week both restricted: either may match (cron's OR rule). */
  dayOr: boolean;
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function field(text: string, lo: number, hi: number, names?: string[], nameBase = 0): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  const num = (s: string) => {
    const i = names?.indexOf(s.toLowerCase()) ?? -1;
    if (i >= 0) return i + nameBase;
    if (!/^\d+$/.test(s)) throw new Error(`invalid value ${JSON.stringify(s)}`);
    return Number(s);
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`invalid step in ${JSON.stringify(part)}`);
    let a: number;
    let b: number;
    if (range === '*' || range === '?') [a, b] = [lo, hi];
    else if (range.includes('-')) {
      const [x, y] = range.split('-');
      [a, b] = [num(x), num(y)];
    } else {
      a = num(range);
      b = stepText === undefined ? a : hi;
    }
    if (a < lo || b > hi || a > b) throw new Error(`${JSON.stringify(part)} is out of range ${lo}-${hi}`);
    for (let v = a; v <= b; v += step) set.add(v);
  }
  return { set, star: text === '*' || text === '?' };
}

/** Parses a schedule; throws Error with a message on bad syntax. */
export function parseSchedule(spec: string): Schedule {
  const text = DESCRIPTORS[spec.trim().toLowerCase()] ?? spec.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`expected exactly 5 fields, found ${parts.length}: ${spec}`);
  const [mi, h, dom, mon, dow] = parts;
  const days = field(dom, 1, 31);
  const weekdays = field(dow, 0, 7, DAYS);
  // 7 is Sunday too.
  if (weekdays.set.has(7)) weekdays.set.add(0);
  return { minutes: field(mi, 0, 59).set, hours: field(h, 0, 23).set, days: days.set, months: field(mon, 1, 12, MONTHS, 1).set, weekdays: weekdays.set, dayOr: !days.star && !weekdays.star };
}

function dayMatches(s: Schedule, d: Date): boolean {
  const dom = s.days.has(d.getUTCDate());
  const dow = s.weekdays.has(d.getUTCDay());
  return s.dayOr ? dom || dow : dom && dow;
}

/** The first scheduled minute strictly after t (ms), or undefined within ~5 years. */
export function nextRun(s: Schedule, t: number): number | undefined {
  const d = new Date(Math.floor(t / 60_000) * 60_000 + 60_000);
  const limit = t + 5 * 366 * 86_400_000;
  while (d.getTime() < limit) {
    if (!s.months.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(s, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!s.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!s.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  return undefined;
}

/**
 * The latest scheduled time in (after, now] and how many runs fell in that
 * window. Only the last week is walked (a controller down longer than that
 * starts from there), which bounds the work for every-minute schedules.
 */
export function mostRecentRun(s: Schedule, after: number, now: number): { time?: number; missed: number } {
  let time: number | undefined;
  let missed = 0;
  for (let t = nextRun(s, Math.max(after, now - 7 * 86_400_000)); t !== undefined && t <= now; t = nextRun(s, t)) {
    time = t;
    missed++;
  }
  return { time, missed };
}
