// kubectl exec -i / -t, attach and port-forward end to end: kubectl 1.32 ->
// API server -> kubelet -> CRI Exec/Attach/PortForward -> containerd's
// streaming server in the node namespace. kubectl tries WebSocket v5 first;
// containerd 1.6 has no v5, so every interactive session here is the SPDY
// fallback proxied untouched, which these tests exercise as a user would.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/core.js';
import { BUSYBOX_IMAGE } from '../../src/kubelet/images.js';
import { startKubeletNode, type KubeletNode } from '../helpers/kubelet-node.js';
import { waitFor } from '../helpers/wait.js';

const root = process.getuid?.() === 0;
const have = ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/runc', '/usr/bin/busybox', '/usr/bin/script', '/usr/lib/cni/loopback', '/sys/fs/cgroup/unified'].filter((f) => !existsSync(f));
const built = existsSync(join(process.cwd(), 'dist', 'cni', 'main.js'));
if (!root) console.log('kubelet-streaming: skipped, needs root for namespaces, BPF and containerd');
else if (have.length) console.log(`kubelet-streaming: skipped, missing ${have.join(', ')}`);
else if (!built) console.log('kubelet-streaming: skipped, dist/cni/main.js missing (run npm run build:ts)');

const NODE = 'st-node';
const pod = (name: string, spec: Record<string, unknown>) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, ...spec } });

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed by pid after timeoutMs), feeding input on stdin. */
function run(argv: string[], input?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.on('error', () => undefined);
    if (input !== undefined) p.stdin.end(input);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

describe.skipIf(!root || have.length > 0 || !built)('kubectl exec -i/-t, attach and port-forward through the kubelet to containerd', () => {
  let n: KubeletNode;
  let kubectl: string[];
  const getPod = async (name: string) => (await n.server.request('GET', `/api/v1/namespaces/default/pods/${name}`)).json() as Pod;
  const running = (name: string) => waitFor(`${name} Running`, async () => (await getPod(name)).status?.phase === 'Running', 60_000, 100);

  /** Starts kubectl port-forward and resolves once it listens; stop() kills it by pid. */
  async function portForward(local: number, remote: number) {
    const p = spawn(kubectl[0]!, [...kubectl.slice(1), 'port-forward', 'pod/web', `${local}:${remote}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitFor('port-forward listening', () => {
      if (p.exitCode !== null) throw new Error(`kubectl port-forward exited ${p.exitCode}: ${stderr}`);
      return stdout.includes(`Forwarding from 127.0.0.1:${local} -> ${remote}`);
    }, 20_000, 50);
    return {
      output: () => ({ stdout, stderr }),
      stop: () => new Promise<void>((resolve) => {
        if (p.exitCode !== null || p.signalCode !== null) return resolve();
        p.once('close', () => resolve());
        p.kill('SIGTERM');
      }),
    };
  }

  beforeAll(async () => {
    n = await startKubeletNode({ prefix: 'ebft-st', node: NODE, podCIDR: '10.233.2.0/24', kubelet: { syncIntervalMs: 250 } });
    kubectl = ['kubectl', '--kubeconfig', n.server.kubeconfig, '--cache-dir', join(n.server.dir, 'kubectl-cache')];
    await n.kubectl(['apply', '-f', '-'], pod('web', { containers: [{ name: 'httpd', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo hello through port-forward > /www/index.html && exec httpd -f -p 80 -h /www'] }] }));
    await n.kubectl(['apply', '-f', '-'], pod('att', { restartPolicy: 'Never', containers: [{ name: 'reader', image: BUSYBOX_IMAGE, stdin: true, command: ['sh', '-c', 'read line; echo "got $line"'] }] }));
    await n.kubectl(['apply', '-f', '-'], pod('mixed', { restartPolicy: 'Never', containers: [{ name: 'quick', image: BUSYBOX_IMAGE, command: ['true'] }, { name: 'long', image: BUSYBOX_IMAGE, command: ['sleep', '3600'] }] }));
    await Promise.all(['web', 'att', 'mixed'].map(running));
  }, 150_000);

  afterAll(async () => {
    await n?.close();
  }, 60_000);

  it('kubectl exec -i streams stdin to the process and ends at EOF', async () => {
    const input = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const r = await run([...kubectl, 'exec', '-i', 'web', '--', 'cat'], input);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(input);
    const wc = await run([...kubectl, 'exec', '-i', 'web', '--', 'sh', '-c', 'wc -l; exit 4'], 'a\nb\nc\n');
    expect(wc.stdout.trim()).toBe('3');
    expect(wc.code).toBe(4);
  });

  it('kubectl exec keeps output and exit codes without -i/-t', async () => {
    expect((await n.kubectl(['exec', 'web', '--', 'cat', '/www/index.html'])).trim()).toBe('hello through port-forward');
    const failing = await run([...kubectl, 'exec', 'web', '--', 'sh', '-c', 'echo out; echo oops >&2; exit 7']);
    expect(failing.code).toBe(7);
    expect(failing.stdout).toBe('out\n');
    expect(failing.stderr).toContain('oops');
  });

  it('kubectl exec -t allocates a terminal; -it under a pty carries the window size and the exit code', async () => {
    const notty = await run([...kubectl, 'exec', 'web', '--', 'tty']);
    expect(notty.stdout.trim()).toBe('not a tty');
    // script(1) gives kubectl a real terminal of 37x101; kubectl sends that size on the resize stream.
    const cmd = `stty rows 37 cols 101; ${kubectl.join(' ')} exec -it web -- sh -c 'tty; sleep 1; stty size; read x; echo "read:$x"; exit 3'`;
    const it = await run(['script', '-qec', cmd, '/dev/null'], 'typed-line\n');
    expect(it.stdout, it.stderr).toMatch(/\/dev\/pts\/\d+/);
    expect(it.stdout).toContain('37 101');
    expect(it.stdout).toContain('read:typed-line');
    expect(it.code).toBe(3);
  });

  it('kubectl attach -i reaches the stdin and stdout of a container started with stdin: true', async () => {
    // Without stdinOnce the runtime ends an attach session at stdin EOF, so stdin stays open until the answer is back.
    const p = spawn(kubectl[0]!, [...kubectl.slice(1), 'attach', '-i', 'att'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => p.on('close', resolve));
    try {
      // kubectl prints its prompt hint once the streams are up.
      await waitFor('attach streams up', () => stderr.includes("If you don't see a command prompt"), 20_000, 50);
      p.stdin.write('hello\n');
      await waitFor('attached output', () => stdout.includes('got hello'), 10_000, 50);
      p.stdin.end();
      expect(await closed).toBe(0);
    } finally {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    await waitFor('att Succeeded', async () => (await getPod('att')).status?.phase === 'Succeeded', 20_000, 100);
  });

  it('kubectl port-forward carries HTTP requests to the pod port', async () => {
    const local = await freePort();
    const pf = await portForward(local, 80);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await httpGet(local);
        expect(r.status).toBe(200);
        expect(r.body.trim()).toBe('hello through port-forward');
      }
    } finally {
      await pf.stop();
    }
  });

  it('port-forward to a closed port: kubectl prints the runtime error', async () => {
    const local = await freePort();
    const pf = await portForward(local, 81);
    try {
      await expect(httpGet(local)).rejects.toThrow();
      await waitFor('port-forward error printed', () => /error forwarding port 81|connection refused/.test(pf.output().stderr), 10_000, 50);
      expect(pf.output().stderr).toContain('connection refused');
    } finally {
      await pf.stop();
    }
  });

  it('errors are clear: unknown container, a container that has exited, and bad requests', async () => {
    const nope = await run([...kubectl, 'exec', 'web', '-c', 'nope', '--', 'true']);
    expect(nope.code).not.toBe(0);
    expect(nope.stderr).toContain('container nope is not valid for pod web');
    const exited = await run([...kubectl, 'exec', '-i', 'mixed', '-c', 'quick', '--', 'cat'], '');
    expect(exited.code).not.toBe(0);
    expect(exited.stderr).toContain('container quick in pod mixed is not running (it has exited)');
    const exitedPlain = await run([...kubectl, 'exec', 'mixed', '-c', 'quick', '--', 'true']);
    expect(exitedPlain.code).not.toBe(0);
    expect(exitedPlain.stderr).toContain('container quick in pod mixed is not running (it has exited)');
    // The other container of that pod still execs.
    expect((await n.kubectl(['exec', 'mixed', '-c', 'long', '--', 'echo', 'ok'])).trim()).toBe('ok');
    const ghost = await n.server.request('GET', '/api/v1/namespaces/default/pods/ghost/exec?command=true', undefined, { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
    expect(ghost.status).toBe(404);
    expect(ghost.json()).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });
});
