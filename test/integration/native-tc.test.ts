// Native addon: tc attach/query/detach and the netns helpers on a veth pair
// inside a network namespace the test creates (never a host interface), with
// real traffic moving the program's counter and feeding the ring buffer.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpfObject,
  RingBuffer,
  ifIndex,
  isNativeError,
  tcAttach,
  tcDetach,
  tcHookDestroy,
  tcQuery,
  withNetns,
  type NativeError,
} from '../../src/dataplane/native.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('native-tc: skipped, needs root for netns and BPF');

const OBJ = join(import.meta.dirname, '../../build/bpf/test/native_test.o');
const tag = randomBytes(4).toString('hex');
const root = `/sys/fs/bpf/ebbflow/test-${tag}`;
const ns = `ebft-${tag}`;
const nsPath = `/var/run/netns/${ns}`;

function ensureBpffs(): void {
  if (execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/bpf']).toString().trim() !== 'bpf_fs') {
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
}

function ipn(...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args]).toString();
}

function link(name: string): { ifindex: number; address: string } {
  return JSON.parse(ipn('-j', 'link', 'show', 'dev', name))[0];
}

function sumPerCpu(v: Buffer): bigint {
  let s = 0n;
  for (let i = 0; i < v.length; i += 8) s += v.readBigUInt64LE(i);
  return s;
}

async function rejection(p: Promise<unknown>): Promise<NativeError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isNativeError(e)) throw new Error(`expected a native error, got ${String(e)}`);
  return e;
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!isRoot)('native tc and netns', () => {
  let obj: BpfObject;
  let progFd: number;

  beforeAll(async () => {
    ensureBpffs();
    if (!existsSync(OBJ)) throw new Error(`${OBJ} missing: run bash scripts/build-bpf.sh`);
    execFileSync('ip', ['netns', 'add', ns]);
    // No IPv6 so the only packets on the veth are the ones the test sends.
    for (const k of ['all', 'default']) {
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${k}.disable_ipv6=1`]);
    }
    ipn('link', 'add', 'name', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b');
    ipn('addr', 'add', '10.99.0.1/24', 'dev', 'veth-a');
    for (const dev of ['lo', 'veth-a', 'veth-b']) ipn('link', 'set', 'dev', dev, 'up');
    // A permanent neighbour: datagrams leave veth-a as IPv4 straight away, no ARP.
    ipn('neigh', 'add', '10.99.0.2', 'lladdr', link('veth-b').address, 'dev', 'veth-a', 'nud', 'permanent');
    obj = BpfObject.open(OBJ, { pinRoot: root });
    await obj.load();
    progFd = obj.programFd('ebft_tc_count');
  });

  afterAll(() => {
    obj?.close();
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(root, { recursive: true, force: true });
  });

  it('withNetns runs a function inside the namespace and always switches back', () => {
    const outside = readlinkSync('/proc/thread-self/ns/net');
    const inside = withNetns(nsPath, () => readlinkSync('/proc/thread-self/ns/net'));
    expect(inside).toBe(`net:[${statSync(nsPath).ino}]`);
    expect(inside).not.toBe(outside);
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(outside);
    expect(() =>
      withNetns(nsPath, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(outside);
    try {
      withNetns('/var/run/netns/ebft-does-not-exist', () => 1);
      throw new Error('expected failure');
    } catch (e) {
      expect((e as NativeError).code).toBe('ENOENT');
    }
  });

  it('ifIndex resolves names inside the namespace', () => {
    expect(ifIndex(nsPath, 'lo')).toBe(1);
    expect(ifIndex(nsPath, 'veth-b')).toBe(link('veth-b').ifindex);
    expect(ifIndex(null, 'lo')).toBe(1);
    try {
      ifIndex(nsPath, 'nope0');
      throw new Error('expected failure');
    } catch (e) {
      expect([(e as NativeError).code, (e as NativeError).syscall]).toEqual(['ENODEV', 'if_nametoindex']);
    }
  });

  it('attaches on ingress, counts real traffic into the ring buffer, detaches and removes the hook', async () => {
    const target = { netns: nsPath, ifname: 'veth-b', direction: 'ingress' as const };
    const vethB = link('veth-b').ifindex;
    expect(await tcQuery({ ...target, handle: 1, priority: 1 })).toBeNull();
    const res = await tcAttach({ ...target, progFd });
    expect(res).toEqual({ ifindex: vethB, handle: 1, priority: 1, createdHook: true });
    const again = await tcAttach({ ...target, progFd });
    expect(again.createdHook).toBe(false);
    const q = await tcQuery({ ...target, handle: 1, priority: 1 });
    expect(q!.progId).toBeGreaterThan(0);
    expect(execFileSync('ip', ['netns', 'exec', ns, 'tc', 'filter', 'show', 'dev', 'veth-b', 'ingress']).toString()).toContain(
      `id ${q!.progId} `,
    );

    const counter = obj.map('ebft_pcpu');
    const events = obj.map('ebft_events');
    const records: Buffer[] = [];
    const rb = new RingBuffer(events.fd, (batch) => records.push(...batch));
    try {
      const before = sumPerCpu(counter.lookup(Buffer.alloc(4))!);
      // Three 100-byte UDP datagrams (bash /dev/udp; no ping on the machine):
      // 14 Ethernet + 20 IPv4 + 8 UDP + 100 = 142 bytes each at veth-b ingress.
      execFileSync('ip', ['netns', 'exec', ns, 'bash', '-c', 'for i in 1 2 3; do printf "%0100d" 0 > /dev/udp/10.99.0.2/9; done']);
      await waitFor(() => records.filter((r) => r.readUInt32LE(4) === vethB).length >= 3);
      const ours = records.filter((r) => r.readUInt32LE(4) === vethB);
      expect(ours.map((r) => r.readUInt32LE(0))).toEqual([142, 142, 142]);
      expect(sumPerCpu(counter.lookup(Buffer.alloc(4))!) - before).toBe(BigInt(records.length));
      expect(rb.stats().droppedInAddon).toBe(0);
    } finally {
      rb.close();
      counter.close();
      events.close();
    }

    await tcDetach({ ...target, handle: 1, priority: 1 });
    expect(await tcQuery({ ...target, handle: 1, priority: 1 })).toBeNull();
    const e = await rejection(tcDetach({ ...target, handle: 1, priority: 1 }));
    expect([e.code, e.syscall]).toEqual(['ENOENT', 'bpf_tc_detach']);
    await tcHookDestroy({ netns: nsPath, ifname: 'veth-b' });
    expect(execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'show', 'dev', 'veth-b']).toString()).not.toContain(
      'clsact',
    );
  });

  it('attaches on egress by ifindex with an explicit handle and priority', async () => {
    const ifindex = link('veth-a').ifindex;
    const ref = { netns: nsPath, ifindex, direction: 'egress' as const, handle: 7, priority: 9 };
    const res = await tcAttach({ ...ref, progFd });
    expect(res).toEqual({ ifindex, handle: 7, priority: 9, createdHook: true });
    expect(await tcQuery({ ...ref, direction: 'ingress' })).toBeNull();
    expect((await tcQuery(ref))!.progId).toBeGreaterThan(0);
    await tcDetach(ref);
    await tcHookDestroy({ netns: nsPath, ifindex });
    expect(await tcQuery(ref)).toBeNull();
  });

  it('reports errno-carrying errors for a missing interface or namespace', async () => {
    const dev = await rejection(tcAttach({ netns: nsPath, ifname: 'nope0', direction: 'ingress', progFd }));
    expect([dev.code, dev.syscall]).toEqual(['ENODEV', 'if_nametoindex']);
    expect(dev.message).toContain(`nope0 in ${nsPath}`);
    const nsErr = await rejection(tcQuery({ netns: '/var/run/netns/ebft-missing', ifindex: 1, direction: 'ingress', handle: 1, priority: 1 }));
    expect(nsErr.code).toBe('ENOENT');
    await expect(tcAttach({ netns: nsPath, ifname: 'veth-a', direction: 'sideways' as 'ingress', progFd })).rejects.toThrow(
      TypeError,
    );
  });
});
