// Startup/readiness/liveness probe state (fake handler runner and clock),
// the lifecycle grace arithmetic and hook messages, and the pod phase and
// readiness of a container still waiting for its startup probe.
import { describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/api/core.js';
import type { HandlerRunner } from '../../src/kubelet/handlers.js';
import { hookFailureMessage, killGrace, remainingGrace } from '../../src/kubelet/lifecycle.js';
import { podPhase, podStatus } from '../../src/kubelet/pod-status.js';
import { applyResult, createProbeRunner, probeDue } from '../../src/kubelet/probes.js';

const pod = (containers: Container[]): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { containers } });

/** A runner whose verdicts come from a queue; each run resolves at once. */
function fakeRunner(results: boolean[]): HandlerRunner & { runs: number } {
  const r = {
    runs: 0,
    async run() {
      r.runs++;
      const ok = results.shift() ?? false;
      return { ok, message: ok ? '' : 'exit 1' };
    },
  };
  return r;
}

const flush = () => new Promise((r) => setImmediate(r));

describe('probe state', () => {
  it('applies success and failure thresholds', () => {
    const s = { successes: 0, failures: 0, ok: true };
    applyResult(s, { failureThreshold: 2 }, false);
    expect(s.ok).toBe(true);
    applyResult(s, { failureThreshold: 2 }, false);
    expect(s.ok).toBe(false);
    applyResult(s, { successThreshold: 2 }, true);
    expect(s.ok).toBe(false);
    applyResult(s, { successThreshold: 2 }, true);
    expect(s.ok).toBe(true);
  });

  it('is due after the initial delay and then every period', () => {
    const p = { initialDelaySeconds: 2, periodSeconds: 1 };
    expect(probeDue(p, 0, 0, 1999)).toBe(false);
    expect(probeDue(p, 0, 0, 2000)).toBe(true);
    expect(probeDue(p, 0, 2000, 2500)).toBe(false);
    expect(probeDue(p, 0, 2000, 3000)).toBe(true);
  });

  it('a startup probe waits, then starts for good after one success; liveness is unaffected before', async () => {
    let now = 10_000;
    const runner = fakeRunner([false, true]);
    const failures: string[] = [];
    const probes = createProbeRunner(runner, () => now, (_p, _c, kind, m) => failures.push(`${kind}: ${m}`));
    const c: Container = { name: 'c', startupProbe: { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 3 } };
    const p = pod([c]);
    expect(await probes.startup(p, c, 'id1', 0)).toBe('waiting');
    await flush();
    now += 1000;
    expect(await probes.startup(p, c, 'id1', 0)).toBe('waiting');
    await flush();
    expect(await probes.startup(p, c, 'id1', 0)).toBe('started');
    now += 5000;
    expect(await probes.startup(p, c, 'id1', 0)).toBe('started');
    await flush();
    expect(runner.runs).toBe(2); // no more runs once started
    expect(failures).toEqual(['startup: Startup probe failed: exit 1']);
  });

  it('a startup probe fails after failureThreshold failures', async () => {
    let now = 0;
    const probes = createProbeRunner(fakeRunner([false, false]), () => now);
    const c: Container = { name: 'c', startupProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 } };
    const p = pod([c]);
    expect(await probes.startup(p, c, 'id1', 0)).toBe('waiting');
    await flush();
    now = 1000;
    await probes.startup(p, c, 'id1', 0);
    await flush();
    expect(await probes.startup(p, c, 'id1', 0)).toBe('failed');
    expect(probes.lastFailure(p, c, 'id1', 'startup')).toBe('exit 1');
    // A new container instance starts over.
    expect(await probes.startup(p, c, 'id2', 0)).toBe('waiting');
  });

  it('counts a container this node already reported started (kubelet restart) as started', async () => {
    const probes = createProbeRunner(fakeRunner([]), () => 0);
    const c: Container = { name: 'c', startupProbe: { exec: { command: ['false'] } } };
    const p = { ...pod([c]), status: { containerStatuses: [{ name: 'c', ready: false, started: true, restartCount: 0, image: '', imageID: '', containerID: 'containerd://id1' }] } };
    expect(await probes.startup(p, c, 'id1', 0)).toBe('started');
    expect(await probes.startup(p, c, 'other', 0)).toBe('waiting');
  });
});

describe('lifecycle', () => {
  it('gives the stop what is left of the grace period, at least 2 s when there was one', () => {
    expect(remainingGrace(30, 0)).toBe(30);
    expect(remainingGrace(30, 10_500)).toBe(20);
    expect(remainingGrace(30, 40_000)).toBe(2);
    expect(remainingGrace(1, 5000)).toBe(1);
    expect(remainingGrace(0, 0)).toBe(0);
  });

  it('uses the probe grace, else the pod grace, else 30 s', () => {
    expect(killGrace(pod([]), 5)).toBe(5);
    expect(killGrace({ ...pod([]), spec: { containers: [], terminationGracePeriodSeconds: 7 } })).toBe(7);
    expect(killGrace(pod([]))).toBe(30);
  });

  it('words hook failures as the upstream kubelet', () => {
    expect(hookFailureMessage({ exec: { command: ['sh', '-c', 'exit 1'] } }, pod([]), { name: 'c' }, "command 'sh -c exit 1' exited with 1: "))
      .toBe(`Exec lifecycle hook ([sh -c exit 1]) for Container "c" in Pod "p_default(u1)" failed - error: command 'sh -c exit 1' exited with 1: `);
    expect(hookFailureMessage({ httpGet: { path: '/stop', port: 80 } }, pod([]), { name: 'c' }, 'x')).toMatch(/^HTTP lifecycle hook \(\/stop\) for Container "c"/);
  });
});

describe('pod status with a startup probe pending', () => {
  it('is Running with the container not started and not ready', () => {
    const o = {
      hostIP: '10.0.0.1', podIP: '10.1.0.2', startTime: '2026-01-01T00:00:00Z', sandboxReady: true,
      containers: [{ name: 'c', image: 'i', imageID: 'x', state: { running: { startedAt: '2026-01-01T00:00:01Z' } }, restartCount: 0, ready: false, started: false, final: false }],
    };
    expect(podPhase(o)).toBe('Running');
    const st = podStatus(pod([{ name: 'c' }]), o);
    expect(st.containerStatuses![0]).toMatchObject({ started: false, ready: false });
    expect(st.conditions!.find((c) => c.type === 'Ready')?.status).toBe('False');
  });
});

describe('handler actions (http/tcp checks in a child process, here without a namespace)', () => {
  it('passes 2xx, fails 5xx for probes but not for hooks, reports refused connections', async () => {
    const { createServer } = await import('node:http');
    const { createHandlerRunner } = await import('../../src/kubelet/handlers.js');
    const srv = createServer((q, r) => {
      r.statusCode = q.url === '/ok' && q.headers['x-probe'] === 'yes' ? 200 : 500;
      r.end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const h = createHandlerRunner({} as never, undefined);
    const c: Container = { name: 'c', ports: [{ name: 'web', containerPort: port }] };
    try {
      expect(await h.run({ httpGet: { path: '/ok', port: 'web', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } }, c, '', '127.0.0.1', 2000, 'probe')).toEqual({ ok: true, message: '' });
      expect(await h.run({ httpGet: { path: '/bad', port } }, c, '', '127.0.0.1', 2000, 'probe')).toEqual({ ok: false, message: 'HTTP probe failed with statuscode: 500' });
      expect((await h.run({ httpGet: { path: '/bad', port } }, c, '', '127.0.0.1', 2000, 'hook')).ok).toBe(true);
      expect((await h.run({ tcpSocket: { port } }, c, '', '127.0.0.1', 2000, 'probe')).ok).toBe(true);
      expect(await h.run({ tcpSocket: { port: 1 } }, c, '', '127.0.0.1', 2000, 'probe')).toEqual({ ok: false, message: 'dial tcp 127.0.0.1:1: ECONNREFUSED' });
      expect((await h.run({ httpGet: { port: 1 } }, c, '', undefined, 2000, 'probe')).message).toBe('pod has no IP yet');
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
