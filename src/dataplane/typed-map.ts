// A BPF map seen through a key codec and a value codec: every map module
// in maps/ builds one of these, so encoding lives in exactly one place.
import type { StructLayout } from './layout.js';

/** The subset of the native BpfMap that typed maps use. */
export interface MapHandle {
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  lookup(key: Buffer): Buffer | null;
  update(key: Buffer, value: Buffer, flags?: number): void;
  delete(key: Buffer): boolean;
  dump(): { keys: Buffer; values: Buffer; count: number };
  updateBatch(keys: Buffer, values: Buffer, flags?: number): Promise<number>;
  deleteBatch(keys: Buffer): Promise<number>;
}

export interface Codec<T> {
  /** Byte size of one record. */
  size: number;
  /** The C struct this codec mirrors, checked against BTF; absent for scalars. */
  layout?: StructLayout;
  encode(value: T, buf: Buffer, offset: number): void;
  decode(buf: Buffer, offset: number): T;
}

export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

/** A u32 key or value in host byte order, as BPF stores plain integers. */
export const u32Codec: Codec<number> = {
  size: 4,
  encode: (v, buf, off) => void buf.writeUInt32LE(v >>> 0, off),
  decode: (buf, off) => buf.readUInt32LE(off),
};

export const u8Codec: Codec<number> = {
  size: 1,
  encode: (v, buf, off) => void buf.writeUInt8(v, off),
  decode: (buf, off) => buf.readUInt8(off),
};

/** A write failed because the map has no room (hash maps: E2BIG, LPM tries: ENOSPC). */
export class MapFullError extends Error {
  readonly code = 'EBBFLOW_MAP_FULL';
  constructor(readonly map: string, readonly capacity: number, cause: unknown) {
    super(`BPF map ${map} is full (${capacity} entries): the entry was not written; raise the map's size (MapSizes) or reduce what it must hold`, { cause });
  }
}

const fullCounts = new Map<string, number>();

/** How many writes failed with a full map, per map name, since this process started. */
export function mapFullCounts(): ReadonlyMap<string, number> {
  return fullCounts;
}

function isFull(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'E2BIG' || code === 'ENOSPC';
}

export class TypedMap<K, V> {
  constructor(
    readonly name: string,
    readonly handle: MapHandle,
    readonly key: Codec<K>,
    readonly value: Codec<V>,
  ) {
    if (handle.keySize !== key.size || handle.valueSize !== value.size) {
      throw new Error(
        `map ${name}: kernel key/value size ${handle.keySize}/${handle.valueSize} != codec ${key.size}/${value.size}`,
      );
    }
  }

  encodeKey(k: K): Buffer {
    const b = Buffer.alloc(this.key.size);
    this.key.encode(k, b, 0);
    return b;
  }

  get(k: K): V | undefined {
    const v = this.handle.lookup(this.encodeKey(k));
    return v ? this.value.decode(v, 0) : undefined;
  }

  set(k: K, v: V, flags = BPF_ANY): void {
    const vb = Buffer.alloc(this.value.size);
    this.value.encode(v, vb, 0);
    try {
      this.handle.update(this.encodeKey(k), vb, flags);
    } catch (err) {
      throw this.full(err);
    }
  }

  /** Counts and wraps a map-full error; other errors pass through unchanged. */
  private full(err: unknown): unknown {
    if (!isFull(err)) return err;
    fullCounts.set(this.name, (fullCounts.get(this.name) ?? 0) + 1);
    return new MapFullError(this.name, this.handle.maxEntries, err);
  }

  delete(k: K): boolean {
    return this.handle.delete(this.encodeKey(k));
  }

  entries(): [K, V][] {
    const { keys, values, count } = this.handle.dump();
    const out: [K, V][] = [];
    for (let i = 0; i < count; i++) {
      out.push([this.key.decode(keys, i * this.key.size), this.value.decode(values, i * this.value.size)]);
    }
    return out;
  }

  /** Writes many entries in one batch syscall (fallback loop in the addon). */
  async setMany(pairs: readonly (readonly [K, V])[], flags = BPF_ANY): Promise<void> {
    if (pairs.length === 0) return;
    const keys = Buffer.alloc(pairs.length * this.key.size);
    const values = Buffer.alloc(pairs.length * this.value.size);
    pairs.forEach(([k, v], i) => {
      this.key.encode(k, keys, i * this.key.size);
      this.value.encode(v, values, i * this.value.size);
    });
    try {
      await this.handle.updateBatch(keys, values, flags);
    } catch (err) {
      throw this.full(err);
    }
  }

  async deleteMany(keys: readonly K[]): Promise<void> {
    if (keys.length === 0) return;
    const buf = Buffer.alloc(keys.length * this.key.size);
    keys.forEach((k, i) => this.key.encode(k, buf, i * this.key.size));
    await this.handle.deleteBatch(buf);
  }
}
