// Native addon: cgroup attachment through pinned bpf_links on a cgroup v2
// subtree the test creates (never the root cgroup): survives closing every
// handle and the attaching process exiting, is updated in place on re-attach,
// and is removed by cgroupDetach.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, cgroupAttach, cgroupDetach, isNativeError, nativeAddonPath } from '../../src/dataplane/native.js';

const isRoot = process.getuid?.() === 0;
// Hybrid hosts (this one) mount cgroup v2 at /sys/fs/cgroup/unified; pure v2 hosts at /sys/fs/cgroup.
const CG2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find(
  (d) => existsSync(join(d, 'cgroup.procs')) && execFileSync('stat', ['-f', '-c', '%T', d]).toString().trim() === 'cgroup2fs',
);
if (!isRoot) console.log('native-cgroup: skipped, needs root for BPF and cgroups');
else if (!CG2) console.log('native-cgroup: skipped, no cgroup v2 hierarchy mounted');

const OBJ = join(import.meta.dirname, '../../build/bpf/test/native_test.o');
const tag = randomBytes(4).toString('hex');
const root = `/sys/fs/bpf/ebbflow/test-${tag}`;
const cg = join(CG2 ?? '/nonexistent', `ebbflow-test-${tag}`);
const child = join(cg, 'child');
const pin = join(root, 'links', 'connect4');
const childPin = join(root, 'links', 'child-connect4');

function ensureBpffs(): void {
  if (execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/bpf']).toString().trim() !== 'bpf_fs') {
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
}

interface CgroupProg {
  id: number;
  attach_type: string;
  name: string;
}

/** Programs attached directly to a cgroup, as bpftool sees them. */
function attached(path: string): CgroupProg[] {
  const out = execFileSync('bpftool', ['-j', 'cgroup', 'show', path]).toString().trim();
  return out ? (JSON.parse(out) as CgroupProg[]) : [];
}

async function loadConnect4(): Promise<{ obj: BpfObject; fd: number }> {
  const obj = BpfObject.open(OBJ, { pinRoot: join(root, 'maps') });
  await obj.load();
  return { obj, fd: obj.programFd('ebft_connect4') };
}

describe.skipIf(!isRoot || !CG2)('native cgroup links', () => {
  beforeAll(() => {
    ensureBpffs();
    if (!existsSync(OBJ)) throw new Error(`${OBJ} missing: run bash scripts/build-bpf.sh`);
    mkdirSync(cg);
    mkdirSync(child);
  });

  afterAll(() => {
    for (const p of [pin, childPin]) {
      try {
        cgroupDetach(p);
      } catch {
        // already gone; rmdir below reports anything left behind
      }
    }
    for (const d of [child, cg]) if (existsSync(d)) rmdirSync(d);
    rmSync(root, { recursive: true, force: true });
  });

  it('attaches via a pinned link that outlives every JS handle, updates it in place, then detaches', async () => {
    const first = await loadConnect4();
    cgroupAttach({ cgroupPath: cg, progFd: first.fd, attachType: 'connect4', pinPath: pin });
    const before = attached(cg);
    expect(before).toHaveLength(1);
    expect(before[0]).toMatchObject({ attach_type: 'cgroup_inet4_connect', name: 'ebft_connect4' });
    first.obj.close();
    expect(attached(cg)).toEqual(before);

    // A restarted loader: new program instance, same pin -> same single attachment, new program.
    const second = await loadConnect4();
    try {
      cgroupAttach({ cgroupPath: cg, progFd: second.fd, attachType: 'connect4', pinPath: pin });
      const after = attached(cg);
      expect(after).toHaveLength(1);
      expect(after[0].id).not.toBe(before[0].id);

      // The pin belongs to another cgroup: refused rather than retargeted.
      try {
        cgroupAttach({ cgroupPath: child, progFd: second.fd, attachType: 'connect4', pinPath: pin });
        throw new Error('expected failure');
      } catch (e) {
        expect(isNativeError(e) && e.code).toBe('EEXIST');
      }
      expect(attached(child)).toEqual([]);
    } finally {
      second.obj.close();
    }

    expect(cgroupDetach(pin)).toBe(true);
    expect(attached(cg)).toEqual([]);
    expect(existsSync(pin)).toBe(false);
    expect(cgroupDetach(pin)).toBe(false);
  });

  it('keeps an attachment made by a process that has exited', () => {
    const script = `
      const n = require(${JSON.stringify(nativeAddonPath())});
      const o = n.BpfObject.open(${JSON.stringify(OBJ)}, { pinRoot: ${JSON.stringify(join(root, 'maps'))} });
      o.load().then(() => {
        n.cgroupAttach({ cgroupPath: ${JSON.stringify(child)}, progFd: o.programFd('ebft_connect4'),
                         attachType: 'connect4', pinPath: ${JSON.stringify(childPin)} });
      });`;
    execFileSync(process.execPath, ['-e', script], { timeout: 20_000 });
    expect(attached(child)).toEqual([expect.objectContaining({ attach_type: 'cgroup_inet4_connect', name: 'ebft_connect4' })]);
    expect(cgroupDetach(childPin)).toBe(true);
    expect(attached(child)).toEqual([]);
  });

  it('replaces a pinned link that was detached behind its back', async () => {
    const { obj, fd } = await loadConnect4();
    try {
      cgroupAttach({ cgroupPath: cg, progFd: fd, attachType: 'connect4', pinPath: pin });
      execFileSync('bpftool', ['link', 'detach', 'pinned', pin]);
      expect(attached(cg)).toEqual([]);
      expect(existsSync(pin)).toBe(true);
      cgroupAttach({ cgroupPath: cg, progFd: fd, attachType: 'connect4', pinPath: pin });
      expect(attached(cg)).toHaveLength(1);
      expect(cgroupDetach(pin)).toBe(true);
      expect(attached(cg)).toEqual([]);
    } finally {
      obj.close();
    }
  });

  it('reports errno-carrying errors', async () => {
    const { obj, fd } = await loadConnect4();
    try {
      const cases: [() => void, string, string][] = [
        [() => cgroupAttach({ cgroupPath: join(cg, 'missing'), progFd: fd, attachType: 'connect4', pinPath: pin }), 'ENOENT', 'stat'],
        // connect4 programs cannot sit on the sendmsg4 hook.
        [() => cgroupAttach({ cgroupPath: cg, progFd: fd, attachType: 'sendmsg4', pinPath: pin }), 'EINVAL', 'bpf_link_create'],
      ];
      for (const [fn, code, syscall] of cases) {
        try {
          fn();
          throw new Error('expected failure');
        } catch (e) {
          expect(isNativeError(e) && [e.code, e.syscall]).toEqual([code, syscall]);
        }
      }
      expect(attached(cg)).toEqual([]);
      expect(existsSync(pin)).toBe(false);
    } finally {
      obj.close();
    }
  });
});
