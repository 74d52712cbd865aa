// The load balancer's state outlives its process: `ebbflow lb apply` runs
// as a child process, is killed with SIGKILL while connections are open and
// new ones keep coming, and is started again over the pinned maps.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/dataplane/paths.js';
import { createLbLab, service, slice, type LbLab } from '../../src/demo/lab.js';

const root = process.getuid?.() === 0;
if (!root) console.log('lb-restart: skipped, needs root for namespaces and BPF');
const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const VIP = '10.96.0.20';

describe.skipIf(!root)('load balancer restart', () => {
  let lab: LbLab;
  let dir: string;
  let file: string;
  const pinRoot = `/sys/fs/bpf/ebbflow/test-restart-${process.pid}`;
  const loaders: ChildProcess[] = [];

  const args = () => [
    CLI, 'lb', 'apply', '--node', 'node', '--pin-root', pinRoot, '--file', file, '--hold',
    ...lab.net.pods.flatMap((p) => ['--endpoint', `${lab.net.nodeNs}:${p.hostIf}`]),
    '--socket-lb', lab.cgroup,
  ];

  async function startLoader(): Promise<ChildProcess> {
    const p = spawn(process.execPath, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    loaders.push(p);
    let out = '';
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`loader did not start: ${err}`)), 20_000);
      p.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('"applied"')) {
          clearTimeout(t);
          resolve();
        }
      });
      p.on('exit', (code) => reject(new Error(`loader exited ${code}: ${err}`)));
    });
    return p;
  }

  const exited = (p: ChildProcess) =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));

  const status = () => execFileSync(process.execPath, [CLI, 'lb', 'status', '--node', 'node', '--pin-root', pinRoot], { encoding: 'utf8' });

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build:ts (npm test does it)`);
    lab = await createLbLab({ prefix: 'ebft-rs', dataplane: false, pinRoot });
    dir = mkdtempSync(join(tmpdir(), 'ebbflow-restart-'));
    file = join(dir, 'services.json');
    const endpoints = ['be1', 'be2', 'be3'].map((b) => ({ ip: lab.ip(b) }));
    writeFileSync(file, JSON.stringify({ services: [service('web', VIP)], endpointSlices: [slice('web', endpoints)] }));
  }, 60_000);

  afterAll(async () => {
    for (const p of loaders) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (lab) await lab.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps established and new connections working across kill -9 and restart', async () => {
    const first = await startLoader();
    const before = status();
    expect(before).toContain(`${VIP}:80/TCP`);
    const heldSock = await lab.hold(VIP, 80, 4000, true);
    const heldTc = await lab.hold(VIP, 80, 4000, false);

    expect(first.exitCode).toBeNull(); // --hold keeps it running until killed
    first.kill('SIGKILL');
    await exited(first);
    // No loader process at all: the pinned dataplane keeps serving.
    for (const socketLb of [true, false]) {
      const r = await lab.client('tcp', VIP, 80, 15, socketLb);
      expect(r.errors).toEqual({});
      expect(r.ok).toBe(15);
    }

    const second = await startLoader();
    expect(status()).toBe(before); // same ids, same slots: nothing was rebuilt
    for (const socketLb of [true, false]) {
      const r = await lab.client('tcp', VIP, 80, 15, socketLb);
      expect(r.errors).toEqual({});
      expect(Object.keys(r.backends).length).toBeGreaterThanOrEqual(2);
    }
    for (const held of [heldSock, heldTc]) {
      const h = await held.result;
      expect(h.errors).toEqual({});
      expect(Object.keys(h.backends)).toHaveLength(1);
      expect(h.ok).toBeGreaterThan(40);
    }

    // A changed file applied by the restarted loader takes effect.
    writeFileSync(file, JSON.stringify({ services: [service('web', VIP)], endpointSlices: [slice('web', [{ ip: lab.ip('be3') }])] }));
    second.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    const r = await lab.client('tcp', VIP, 80, 10, true);
    expect(r.backends).toEqual({ be3: 10 });
    second.kill('SIGTERM');
    await exited(second);
  }, 60_000);
});
