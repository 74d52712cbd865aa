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
    this.handle.update(this.encodeKey(k), vb, flags);
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
    await this.handle.updateBatch(keys, values, flags);
  }

  async deleteMany(keys: readonly K[]): Promise<void> {
    if (keys.length === 0) return;
    const buf = Buffer.alloc(keys.length * this.key.size);
    keys.forEach((k, i) => this.key.encode(k, buf, i * this.key.size));
    await this.handle.deleteBatch(buf);
  }
}

/** Encodes entries straight into one growing key and value buffer for a
 * single batch write, so a 300,000-entry sync keeps no per-entry objects. */
export class BatchWriter<K, V> {
  private keys: Buffer;
  private values: Buffer;
  count = 0;

  constructor(private readonly map: TypedMap<K, V>, initial = 64) {
    this.keys = Buffer.alloc(initial * map.key.size);
    this.values = Buffer.alloc(initial * map.value.size);
  }

  add(k: K, v: V): void {
    const ks = this.map.key.size;
    const vs = this.map.value.size;
    if ((this.count + 1) * ks > this.keys.length) {
      this.keys = grow(this.keys);
      this.values = grow(this.values);
    }
    this.map.key.encode(k, this.keys, this.count * ks);
    this.map.value.encode(v, this.values, this.count * vs);
    this.count++;
  }

  async flush(flags = BPF_ANY): Promise<number> {
    if (this.count === 0) return 0;
    await this.map.handle.updateBatch(
      this.keys.subarray(0, this.count * this.map.key.size),
      this.values.subarray(0, this.count * this.map.value.size),
      flags,
    );
    return this.count;
  }
}

/** The delete-side twin of BatchWriter. */
export class BatchDeleter<K> {
  private keys: Buffer;
  count = 0;

  constructor(private readonly map: TypedMap<K, unknown>, initial = 64) {
    this.keys = Buffer.alloc(initial * map.key.size);
  }

  add(k: K): void {
    const ks = this.map.key.size;
    if ((this.count + 1) * ks > this.keys.length) this.keys = grow(this.keys);
    this.map.key.encode(k, this.keys, this.count * ks);
    this.count++;
  }

  async flush(): Promise<number> {
    if (this.count === 0) return 0;
    await this.map.handle.deleteBatch(this.keys.subarray(0, this.count * this.map.key.size));
    return this.count;
  }
}

function grow(b: Buffer): Buffer {
  const n = Buffer.alloc(Math.max(b.length * 2, 64));
  b.copy(n);
  return n;
}
