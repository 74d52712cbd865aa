// Native addon on real kernel objects: BpfObject open/load with pinned maps,
// map element and batch operations, per-CPU sizes, BTF layouts, and the
// errno-carrying errors.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpfMap,
  BpfObject,
  MapType,
  UpdateFlags,
  isNativeError,
  libbpfVersion,
  numPossibleCpus,
  type NativeError,
} from '../../src/dataplane/native.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('native-maps: skipped, needs root for BPF');

const OBJ = join(import.meta.dirname, '../../build/bpf/test/native_test.o');
const root = `/sys/fs/bpf/ebbflow/test-${randomBytes(4).toString('hex')}`;

function ensureBpffs(): void {
  if (execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/bpf']).toString().trim() !== 'bpf_fs') {
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function keysOf(start: number, n: number): Buffer {
  const b = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) b.writeUInt32LE(start + i, 4 * i);
  return b;
}

function catchErr(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (e) {
    if (isNativeError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe.skipIf(!isRoot)('native maps', () => {
  let obj: BpfObject;

  beforeAll(async () => {
    ensureBpffs();
    if (!existsSync(OBJ)) throw new Error(`${OBJ} missing: run bash scripts/build-bpf.sh`);
    obj = BpfObject.open(OBJ, { pinRoot: join(root, 'main') });
    await obj.load();
  });

  afterAll(() => {
    obj?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reports libbpf version and possible CPUs', () => {
    expect(libbpfVersion()).toMatch(/^v1\.\d+/);
    expect(numPossibleCpus()).toBeGreaterThanOrEqual(1);
  });

  it('lists maps and programs and pins maps by name under pinRoot', () => {
    const maps = Object.fromEntries(obj.maps().map((m) => [m.name, m]));
    expect(maps.ebft_hash).toEqual({ name: 'ebft_hash', type: MapType.HASH, keySize: 4, valueSize: 32, maxEntries: 16384 });
    expect(maps.ebft_lru.type).toBe(MapType.LRU_HASH);
    expect(maps.ebft_pcpu.type).toBe(MapType.PERCPU_ARRAY);
    expect(maps.ebft_events.type).toBe(MapType.RINGBUF);
    expect(obj.programs()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'ebft_tc_count', section: 'tc' }),
        expect.objectContaining({ name: 'ebft_connect4', section: 'cgroup/connect4' }),
      ]),
    );
    expect(obj.programFd('ebft_tc_count')).toBeGreaterThan(0);
    for (const name of ['ebft_hash', 'ebft_lru', 'ebft_pcpu', 'ebft_events']) {
      expect(existsSync(join(root, 'main', name))).toBe(true);
    }
  });

  it('does element operations on a hash map', () => {
    using_(obj.map('ebft_hash'), (m) => {
      expect([m.name, m.keySize, m.valueSize, m.maxEntries, m.type]).toEqual(['ebft_hash', 4, 32, 16384, MapType.HASH]);
      const v = Buffer.alloc(32, 0xab);
      m.update(u32(1), v);
      m.update(u32(2), Buffer.alloc(32, 0x02));
      expect(m.lookup(u32(1))).toEqual(v);
      expect(m.lookup(u32(99))).toBeNull();
      expect(m.keys().map((k) => k.readUInt32LE()).sort()).toEqual([1, 2]);
      const d = m.dump();
      expect(d.count).toBe(2);
      expect(d.keys.length).toBe(8);
      expect(d.values.length).toBe(64);
      const e = catchErr(() => m.update(u32(1), v, UpdateFlags.NOEXIST));
      expect(e.code).toBe('EEXIST');
      expect(m.delete(u32(1))).toBe(true);
      expect(m.delete(u32(1))).toBe(false);
      expect(m.delete(u32(2))).toBe(true);
      expect(m.dump().count).toBe(0);
      expect(() => m.lookup(Buffer.alloc(3))).toThrow(RangeError);
      expect(() => m.update(u32(1), Buffer.alloc(31))).toThrow(RangeError);
    });
  });

  for (const [name, valueSize] of [
    ['ebft_hash', 32],
    ['ebft_lru', 8],
  ] as const) {
    it(`batch-updates and batch-deletes 10,000 entries on ${name}`, async () => {
      const m = obj.map(name);
      try {
        const n = 10_000;
        const keys = keysOf(1000, n);
        const values = Buffer.alloc(valueSize * n);
        for (let i = 0; i < n; i++) values.writeUInt32LE(i * 3, valueSize * i);
        expect(await m.updateBatch(keys, values)).toBe(n);
        expect(m.dump().count).toBe(n);
        expect(m.lookup(u32(1000 + 4321))!.readUInt32LE()).toBe(4321 * 3);
        // Half the keys deleted first: the batch delete must skip the missing ones.
        expect(await m.deleteBatch(keysOf(1000, n / 2))).toBe(n / 2);
        expect(await m.deleteBatch(keysOf(1000 - 10, n + 20))).toBe(n / 2);
        expect(m.dump().count).toBe(0);
        await expect(m.updateBatch(keys, Buffer.alloc(3))).rejects.toThrow();
      } finally {
        m.close();
      }
    });
  }

  it('returns one 8-byte slot per possible CPU from a per-CPU map', () => {
    const m = obj.map('ebft_pcpu');
    try {
      const ncpu = numPossibleCpus();
      const v = m.lookup(u32(0))!;
      expect(v.length).toBe(8 * ncpu);
      const w = Buffer.alloc(8 * ncpu);
      for (let c = 0; c < ncpu; c++) w.writeBigUInt64LE(BigInt(c + 1), 8 * c);
      m.update(u32(3), w);
      expect(m.lookup(u32(3))).toEqual(w);
      expect(() => m.update(u32(3), Buffer.alloc(8))).toThrow(RangeError);
      const d = m.dump();
      expect([d.count, d.keys.length, d.values.length]).toEqual([4, 16, 4 * 8 * ncpu]);
      expect(d.values.subarray(3 * 8 * ncpu)).toEqual(w);
    } finally {
      m.close();
    }
  });

  it('falls back to per-element calls where a map type has no batch op', async () => {
    // Arrays have no batch delete; the per-element fallback then reports
    // the element's own error (array slots cannot be deleted).
    const m = obj.map('ebft_pcpu');
    try {
      const err = await m.deleteBatch(keysOf(0, 2)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isNativeError(err) && [err.code, err.syscall]).toEqual(['EINVAL', 'bpf_map_delete_elem']);
    } finally {
      m.close();
    }
  });

  it('reads struct layouts from BTF', () => {
    expect(obj.btfStruct('ebft_value')).toEqual({
      size: 32,
      members: [
        { name: 'a', offset: 0, size: 4 },
        { name: 'b', offset: 4, size: 2 },
        { name: 'pad', offset: 6, size: 2 },
        { name: 'c', offset: 8, size: 8 },
        { name: 'inner', offset: 16, size: 12 },
      ],
    });
    expect(obj.btfStruct('no_such_struct')).toBeNull();
  });

  it('reuses pinned maps after close and reopen', async () => {
    const pins = join(root, 'reuse');
    const first = BpfObject.open(OBJ, { pinRoot: pins });
    await first.load();
    const m = first.map('ebft_hash');
    m.update(u32(42), Buffer.alloc(32, 0x42));
    m.close();
    first.close();

    const second = BpfObject.open(OBJ, { pinRoot: pins });
    try {
      await second.load();
      const m2 = second.map('ebft_hash');
      expect(m2.lookup(u32(42))).toEqual(Buffer.alloc(32, 0x42));
      m2.close();
      const pinned = BpfMap.openPinned(join(pins, 'ebft_hash'));
      expect(pinned.lookup(u32(42))).toEqual(Buffer.alloc(32, 0x42));
      expect(pinned.keySize).toBe(4);
      pinned.close();
    } finally {
      second.close();
    }
  });

  it('applies maxEntries overrides and reports a full map as E2BIG', async () => {
    const small = BpfObject.open(OBJ, { pinRoot: join(root, 'small'), maxEntries: { ebft_hash: 8 } });
    try {
      expect(small.maps().find((m) => m.name === 'ebft_hash')!.maxEntries).toBe(8);
      await small.load();
      const m = small.map('ebft_hash');
      expect(m.maxEntries).toBe(8);
      for (let i = 0; i < 8; i++) m.update(u32(i), Buffer.alloc(32));
      const e = catchErr(() => m.update(u32(8), Buffer.alloc(32)));
      expect(e.code).toBe('E2BIG');
      expect(e.errno).toBe(7);
      expect(e.syscall).toBe('bpf_map_update_elem');
      m.close();
    } finally {
      small.close();
    }
  });

  it('fails a load whose pinned map does not match, with libbpf’s reason in the message', async () => {
    const bad = BpfObject.open(OBJ, { pinRoot: join(root, 'main'), maxEntries: { ebft_hash: 100 } });
    try {
      const err = await bad.load().then(
        () => null,
        (e: unknown) => e,
      );
      expect(isNativeError(err)).toBe(true);
      const e = err as NativeError;
      expect(e.code).toBe('EINVAL');
      expect(e.syscall).toBe('bpf_object__load');
      expect(e.message).toMatch(/^bpf_object__load: Invalid argument \(.*couldn't reuse pinned map/s);
    } finally {
      bad.close();
    }
  });

  it('throws errno-carrying errors', () => {
    const e = catchErr(() => BpfMap.openPinned(join(root, 'missing')));
    expect([e.errno, e.code, e.syscall]).toEqual([2, 'ENOENT', 'bpf_obj_get']);
    expect(e.message).toBe(`bpf_obj_get: No such file or directory (${join(root, 'missing')})`);
    const o = catchErr(() => BpfObject.open('/nonexistent/x.o', { pinRoot: join(root, 'x') }));
    expect([o.code, o.syscall]).toEqual(['ENOENT', 'bpf_object__open_file']);
    const u = catchErr(() => BpfObject.open(OBJ, { pinRoot: join(root, 'x'), maxEntries: { nope: 1 } }));
    expect(u.code).toBe('ENOENT');
    expect(u.message).toContain('nope');
    expect(() => obj.map('nope')).toThrow(/nope/);
  });

  it('refuses use after close', async () => {
    const o = BpfObject.open(OBJ, { pinRoot: join(root, 'main') });
    expect(() => o.programFd('ebft_tc_count')).toThrow(/not loaded/);
    await o.load();
    const m = o.map('ebft_lru');
    await m[Symbol.asyncDispose]();
    expect(() => m.lookup(u32(1))).toThrow(/closed/);
    o.close();
    expect(() => o.maps()).toThrow(/closed/);
    expect(() => o.map('ebft_lru')).toThrow(/closed/);
  });
});

function using_<T extends { close(): void }>(h: T, fn: (h: T) => void): void {
  try {
    fn(h);
  } finally {
    h.close();
  }
}
