// Maglev consistent hashing (Eisenbud et al., NSDI 2016): builds the
// per-service lookup table the BPF side indexes by flow hash, so that a
// backend change moves only about 1/N of the flows.
import { createHash } from 'node:crypto';
import { MAGLEV_M } from './maps/lb-maglev.js';

export interface MaglevBackend {
  id: number;
  /** Stable name the permutation derives from (e.g. "10.0.0.1:80/TCP"). */
  name: string;
  /** Relative weight, default 1. */
  weight?: number;
}

function seeds(name: string): [number, number] {
  const d = createHash('sha256').update(name).digest();
  return [d.readUInt32LE(0), d.readUInt32LE(4)];
}

/** Returns a table of size m (prime) holding backend ids; empty backends give zeros. */
export function maglevTable(backends: readonly MaglevBackend[], m = MAGLEV_M): Uint32Array {
  const table = new Uint32Array(m);
  const n = backends.length;
  if (n === 0) return table;
  // Sorting makes the table independent of the order backends arrive in.
  const sorted = [...backends].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const offset = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const next = new Uint32Array(n);
  const weight = sorted.map((b) => Math.max(1, Math.floor(b.weight ?? 1)));
  const maxWeight = Math.max(...weight);
  for (let i = 0; i < n; i++) {
    const [h1, h2] = seeds(sorted[i].name);
    offset[i] = h1 % m;
    skip[i] = (h2 % (m - 1)) + 1;
  }
  const filled = new Uint8Array(m);
  let count = 0;
  // Weights: out of every maxWeight rounds a backend takes `weight` turns,
  // so its share of the table is proportional to its weight.
  for (let round = 0; count < m; round++) {
    for (let i = 0; i < n && count < m; i++) {
      if ((round % maxWeight) >= weight[i]) continue;
      let c = (offset[i] + next[i] * skip[i]) % m;
      while (filled[c]) {
        next[i]++;
        c = (offset[i] + next[i] * skip[i]) % m;
      }
      table[c] = sorted[i].id;
      filled[c] = 1;
      next[i]++;
      count++;
    }
  }
  return table;
}
