// The agent's bounded flow store: a fixed-capacity ring that numbers flows
// with a monotonically increasing sequence (1, 2, ...) and overwrites the
// oldest. Readers hold sequence cursors, so a slow reader costs no memory:
// it finds its next flow overwritten and reports how many it lost.
import type { UnsequencedFlow } from './enrich.js';
import type { Flow } from './types.js';

export const DEFAULT_RING_CAPACITY = 16384;

export class FlowRing {
  readonly capacity: number;
  readonly #slots: (Flow | undefined)[];
  #next = 1;
  #followerLost = 0;
  readonly #waiters = new Set<() => void>();

  constructor(capacity = DEFAULT_RING_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity ${capacity} must be a positive integer`);
    this.capacity = capacity;
    this.#slots = new Array(capacity);
  }

  /** Sequence number the next flow gets. */
  get nextSeq(): number {
    return this.#next;
  }
  /** Oldest sequence number still held (== nextSeq when empty). */
  get oldestSeq(): number {
    return Math.max(1, this.#next - this.capacity);
  }
  get size(): number {
    return this.#next - this.oldestSeq;
  }
  /** Flows written since start (also the last sequence number). */
  get written(): number {
    return this.#next - 1;
  }
  /** Flows followers found overwritten before they read them. */
  get followerLost(): number {
    return this.#followerLost;
  }

  /** Appends flows (taking ownership: they get their `seq` in place) and wakes waiting readers once. */
  push(flows: readonly UnsequencedFlow[]): Flow[] {
    const out: Flow[] = [];
    for (const f of flows) {
      // The flow object becomes the ring entry (no copy): callers hand it over.
      const flow = f as Flow;
      flow.seq = this.#next;
      this.#slots[this.#next % this.capacity] = flow;
      this.#next++;
      out.push(flow);
    }
    if (out.length > 0) this.#wake();
    return out;
  }

  /** The flow with this sequence number, if still held. */
  at(seq: number): Flow | undefined {
    if (seq < this.oldestSeq || seq >= this.#next) return undefined;
    return this.#slots[seq % this.capacity];
  }

  /** Records flows a follower missed (counted as lost at the "follower" stage). */
  noteFollowerLost(n: number): void {
    this.#followerLost += n;
  }

  /** Resolves on the next push or when the signal aborts. */
  waitForPush(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
