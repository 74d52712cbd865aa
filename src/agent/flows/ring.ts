// The agent's bounded flow store: a fixed-capacity ring that numbers flows
// with a monotonically increasing sequence (1, 2, ...) and overwrites the
// oldest. Readers hold sequence cursors, so a slow reader costs no memory:
// it finds its next flow overwritten and reports how many it lost.
// Kernel events can be stored as raw records (pushRecords): their bytes are
// copied into one preallocated buffer and the Flow object is built on the
// first read, so events nobody reads cost no objects (and no GC).
import type { UnsequencedFlow } from './enrich.js';
import type { Flow } from './types.js';

export const DEFAULT_RING_CAPACITY = 16384;

/** How raw records become flows: the record size and the builder run on first read. */
export interface RecordDecoder<I> {
  readonly size: number;
  /** Builds the flow from the record's bytes and what was noted when it arrived. */
  build(bytes: Buffer, info: I): UnsequencedFlow;
}

interface RecordStore<I> {
  decoder: RecordDecoder<I>;
  bytes: Buffer;
  info: (I | undefined)[];
}

export class FlowRing {
  readonly capacity: number;
  readonly #slots: (Flow | undefined)[];
  #next = 1;
  #followerLost = 0;
  readonly #waiters = new Set<() => void>();
  #records?: RecordStore<unknown>;

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
      if (this.#records) this.#records.info[this.#next % this.capacity] = undefined;
      this.#next++;
      out.push(flow);
    }
    if (out.length > 0) this.#wake();
    return out;
  }

  /** Appends raw records (copied; `info[i]` goes with `records[i]`), built into flows when first read; wakes readers once. */
  pushRecords<I>(decoder: RecordDecoder<I>, records: readonly Buffer[], info: readonly I[]): void {
    if (records.length === 0) return;
    let store = this.#records;
    if (!store || store.decoder !== decoder) {
      store = { decoder, bytes: Buffer.alloc(this.capacity * decoder.size), info: new Array(this.capacity).fill(undefined) };
      this.#records = store;
    }
    const size = decoder.size;
    for (let i = 0; i < records.length; i++) {
      const slot = this.#next % this.capacity;
      records[i].copy(store.bytes, slot * size, 0, size);
      store.info[slot] = info[i];
      this.#slots[slot] = undefined;
      this.#next++;
    }
    this.#wake();
  }

  /** The raw record of a held flow not built yet (its bytes start at `offset`), else undefined. */
  recordAt(seq: number): { bytes: Buffer; offset: number } | undefined {
    if (seq < this.oldestSeq || seq >= this.#next) return undefined;
    const slot = seq % this.capacity;
    const store = this.#records;
    if (this.#slots[slot] || !store) return undefined;
    return { bytes: store.bytes, offset: slot * store.decoder.size };
  }

  /** The flow with this sequence number, if still held. */
  at(seq: number): Flow | undefined {
    if (seq < this.oldestSeq || seq >= this.#next) return undefined;
    const slot = seq % this.capacity;
    const f = this.#slots[slot];
    if (f) return f;
    const store = this.#records;
    if (!store) return undefined;
    const size = store.decoder.size;
    const flow = store.decoder.build(store.bytes.subarray(slot * size, slot * size + size), store.info[slot]) as Flow;
    flow.seq = seq;
    this.#slots[slot] = flow;
    store.info[slot] = undefined;
    return flow;
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
