// Native addon: BPF_PROG_TEST_RUN on the test tc program with a crafted
// Ethernet+IPv4+UDP packet, its per-CPU counter, and ring buffer delivery.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, RingBuffer, isNativeError, nativeAddonPath, numPossibleCpus, progTestRun } from '../../src/dataplane/native.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('native-progs: skipped, needs root for BPF');

const OBJ = join(import.meta.dirname, '../../build/bpf/test/native_test.o');
const root = `/sys/fs/bpf/ebbflow/test-${randomBytes(4).toString('hex')}`;

function ensureBpffs(): void {
  if (execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/bpf']).toString().trim() !== 'bpf_fs') {
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
}

/** Ethernet + IPv4 (valid header checksum) + UDP with `payload` bytes. */
function udpPacket(payload: number): Buffer {
  const pkt = Buffer.alloc(14 + 20 + 8 + payload);
  Buffer.from('020000000002', 'hex').copy(pkt, 0);
  Buffer.from('020000000001', 'hex').copy(pkt, 6);
  pkt.writeUInt16BE(0x0800, 12);
  const ip = pkt.subarray(14, 34);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from([10, 0, 0, 1]).copy(ip, 12);
  Buffer.from([10, 0, 0, 2]).copy(ip, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const udp = pkt.subarray(34, 42);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(53, 2);
  udp.writeUInt16BE(8 + payload, 4);
  return pkt;
}

function sumPerCpu(v: Buffer): bigint {
  let s = 0n;
  for (let i = 0; i < v.length; i += 8) s += v.readBigUInt64LE(i);
  return s;
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!isRoot)('native programs', () => {
  let obj: BpfObject;

  beforeAll(async () => {
    ensureBpffs();
    if (!existsSync(OBJ)) throw new Error(`${OBJ} missing: run bash scripts/build-bpf.sh`);
    obj = BpfObject.open(OBJ, { pinRoot: root });
    await obj.load();
  });

  afterAll(() => {
    obj?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('test-runs the tc program: TC_ACT_OK, counter bumped, one ring buffer record with the length', async () => {
    const counter = obj.map('ebft_pcpu');
    const events = obj.map('ebft_events');
    const batches: Buffer[][] = [];
    const rb = new RingBuffer(events.fd, (recs) => batches.push(recs));
    try {
      const zero = Buffer.alloc(4);
      expect(counter.lookup(zero)!.length).toBe(8 * numPossibleCpus());
      const before = sumPerCpu(counter.lookup(zero)!);
      const pkt = udpPacket(100);
      const res = progTestRun(obj.programFd('ebft_tc_count'), { data: pkt });
      expect(res.retval).toBe(0);
      expect(res.data).toEqual(pkt);
      expect(res.durationNs).toBeGreaterThanOrEqual(0);
      expect(sumPerCpu(counter.lookup(zero)!)).toBe(before + 1n);

      await waitFor(() => batches.flat().length >= 1);
      const recs = batches.flat();
      expect(recs).toHaveLength(1);
      expect(recs[0].length).toBe(8);
      expect(recs[0].readUInt32LE(0)).toBe(pkt.length);
      expect(rb.stats()).toEqual({ delivered: 1, droppedInAddon: 0 });
    } finally {
      rb.close();
      counter.close();
      events.close();
    }
  });

  it('delivers many records in batches no larger than maxBatch', async () => {
    const events = obj.map('ebft_events');
    const batches: Buffer[][] = [];
    const rb = new RingBuffer(events.fd, (recs) => batches.push(recs), { maxBatch: 64 });
    events.close(); // the ring buffer owns its own fd
    try {
      const pkt = udpPacket(10);
      progTestRun(obj.programFd('ebft_tc_count'), { data: pkt, repeat: 500 });
      await waitFor(() => batches.flat().length >= 500);
      expect(batches.flat()).toHaveLength(500);
      expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(64);
      expect(batches.flat().every((r) => r.readUInt32LE(0) === pkt.length)).toBe(true);
    } finally {
      rb.close();
    }
    expect(rb.stats().delivered).toBe(500);
    rb.close(); // idempotent
  });

  it('counts records dropped while the JS queue is full instead of blocking', async () => {
    const events = obj.map('ebft_events');
    let got = 0;
    const rb = new RingBuffer(events.fd, (recs) => (got += recs.length), { maxBatch: 1 });
    events.close();
    try {
      progTestRun(obj.programFd('ebft_tc_count'), { data: udpPacket(1), repeat: 1000 });
      // Keep the JS thread busy: the poll thread must not wait for it, so
      // one-record batches overflow the bounded queue and are counted.
      const until = Date.now() + 500;
      while (Date.now() < until) {
        // spin
      }
      await waitFor(() => rb.stats().delivered + rb.stats().droppedInAddon === 1000);
      await waitFor(() => got === rb.stats().delivered);
      expect(rb.stats().droppedInAddon).toBeGreaterThan(0);
      expect(rb.stats().delivered).toBeGreaterThan(0);
    } finally {
      rb.close();
    }
  });

  it('does not keep the process alive with an open ring buffer', () => {
    const script = `
      const n = require(${JSON.stringify(nativeAddonPath())});
      const o = n.BpfObject.open(${JSON.stringify(OBJ)}, { pinRoot: ${JSON.stringify(root)} });
      o.load().then(() => { new n.RingBuffer(o.map('ebft_events').fd, () => {}); console.log('started'); });`;
    const t0 = Date.now();
    const out = execFileSync(process.execPath, ['-e', script], { timeout: 10_000 }).toString();
    expect(out.trim()).toBe('started');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('fails a verifier rejection with the verifier log in the message', async () => {
    // Built here so the repository carries no object that cannot load.
    const dir = mkdtempSync(join(tmpdir(), 'ebft-bad-'));
    try {
      writeFileSync(
        join(dir, 'bad.c'),
        '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n' +
          'SEC("tc") int ebft_bad(struct __sk_buff *skb) { return ((char *)(long)skb->data)[100]; }\n' +
          'char LICENSE[] SEC("license") = "GPL";\n',
      );
      const arch = `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
      execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', arch, '-c', join(dir, 'bad.c'), '-o', join(dir, 'bad.o')]);
      const bad = BpfObject.open(join(dir, 'bad.o'), { pinRoot: join(root, 'bad') });
      try {
        const err = await bad.load().then(
          () => null,
          (e: unknown) => e,
        );
        expect(isNativeError(err) && [err.code, err.syscall]).toEqual(['EACCES', 'bpf_object__load']);
        expect((err as Error).message).toMatch(/^bpf_object__load: Permission denied \(/);
        expect((err as Error).message).toContain('invalid access to packet');
      } finally {
        bad.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad program fd with EBADF or EINVAL', () => {
    try {
      progTestRun(999_999, { data: udpPacket(1) });
      throw new Error('expected failure');
    } catch (e) {
      expect(isNativeError(e)).toBe(true);
      expect(['EBADF', 'EINVAL']).toContain((e as { code: string }).code);
    }
  });
});
