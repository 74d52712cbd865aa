// Pure: resource quantities as integer milli-units for controllers that add
// them up (ResourceQuota usage, HPA requests), and back to canonical text.
import type { IntOrString } from '../api/core.js';

const SUFFIX: Record<string, number> = {
  m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A quantity ("500m", "128Mi", "2") in milli-units, rounded up as upstream's MilliValue; NaN when malformed or absent. */
export function milliValue(q: IntOrString | undefined): number {
  if (q === undefined) return NaN;
  if (typeof q === 'number') return Math.ceil(q * 1000);
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) return NaN;
  return Math.ceil(Number(m[1]) * (m[2] ? SUFFIX[m[2]]! : 1) * 1000 - 1e-6);
}

/** Milli-units as the API prints them: "1500m", "2", "256Mi" (binary suffixes only for whole multiples). */
export function formatMilli(milli: number, binary = false): string {
  if (milli % 1000 !== 0) return `${milli}m`;
  const v = milli / 1000;
  if (binary && v !== 0) {
    for (const s of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
      const f = SUFFIX[s]!;
      if (v % f === 0) return `${v / f}${s}`;
    }
  }
  return String(v);
}
