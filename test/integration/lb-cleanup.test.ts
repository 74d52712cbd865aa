// Teardown leaves nothing behind: namespaces, veths, pins, links, cgroups
// and the programs themselves are gone.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createLbLab, service, slice } from '../../src/demo/lab.js';
import { listNetns } from '../../src/netns/index.js';

const root = process.getuid?.() === 0;
if (!root) console.log('lb-cleanup: skipped, needs root for namespaces and BPF');

const progIds = (): Set<number> => {
  const list = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[];
  return new Set(list.filter((p) => p.name?.startsWith('ebf_')).map((p) => p.id));
};

describe.skipIf(!root)('lab teardown', () => {
  it('removes namespaces, veths, pins, cgroup links, cgroups and programs', async () => {
    const before = progIds();
    const lab = await createLbLab({ prefix: 'ebft-cl' });
    await lab.table.fullSync([service('web', '10.96.0.30')], [slice('web', [{ ip: lab.ip('be1') }])]);
    const r = await lab.client('tcp', '10.96.0.30', 80, 3, true);
    expect(r.ok).toBe(3);
    const ours = [...progIds()].filter((id) => !before.has(id));
    expect(ours.length).toBeGreaterThanOrEqual(6);
    const { pinRoot, cgroup } = lab;
    await lab.teardown();
    expect(await listNetns('ebft-cl-')).toEqual([]);
    expect(existsSync(pinRoot)).toBe(false);
    expect(existsSync(cgroup)).toBe(false);
    const hostVeths = execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' });
    expect(hostVeths).not.toMatch(/ebft/);
    // Programs are freed once nothing holds them (freeing is asynchronous).
    let left = ours;
    for (let i = 0; i < 50 && left.length; i++) {
      await new Promise((res) => setTimeout(res, 100));
      const now = progIds();
      left = ours.filter((id) => now.has(id));
    }
    expect(left).toEqual([]);
  });
});
