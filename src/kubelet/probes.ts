// Readiness and liveness probes: exec through CRI ExecSync, tcpSocket and
// httpGet against the pod IP from the node's network namespace (the pods'
// network is reachable only there). Probes run in the background on their
// period; sync reads the latest verdict and never waits for a probe.
import { spawn } from 'node:child_process';
import type { Container, IntOrString, Pod, Probe } from '../api/core.js';
import type { CriClient } from './cri/client.js';

export interface ProbeRunner {
  /** Latest readiness of a running container (true when it has no readiness probe). */
  ready(pod: Pod, c: Container, containerId: string, startedAtMs: number, podIP?: string): Promise<boolean>;
  /** False once the liveness probe failed failureThreshold times in a row. */
  alive(pod: Pod, c: Container, containerId: string, startedAtMs: number, podIP?: string): Promise<boolean>;
  forget(uid: string): void;
}

interface ProbeState {
  lastRun: number;
  running: boolean;
  successes: number;
  failures: number;
  ok: boolean;
}

function resolvePort(c: Container, port: IntOrString): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort ?? 0;
}

// A child node process does the network check so it can run inside the node namespace.
const CHECK = `const [kind, host, port, path, ms] = process.argv.slice(1);
const t = setTimeout(() => process.exit(1), Number(ms));
if (kind === 'tcp') { const s = require('net').connect(Number(port), host, () => { s.destroy(); process.exit(0); }); s.on('error', () => process.exit(1)); }
else { require('http').get({ host, port: Number(port), path, timeout: Number(ms) }, (r) => process.exit(r.statusCode >= 200 && r.statusCode < 400 ? 0 : 1)).on('error', () => process.exit(1)); }`;

function netCheck(netns: string | undefined, kind: 'tcp' | 'http', host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  const args = ['-e', CHECK, kind, host, String(port), path, String(timeoutMs)];
  const argv = netns ? ['nsenter', `--net=${netns}`, '--', process.execPath, ...args] : [process.execPath, ...args];
  return new Promise((resolve) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    const kill = setTimeout(() => p.kill('SIGKILL'), timeoutMs + 2000);
    p.on('error', () => resolve(false));
    p.on('exit', (code) => {
      clearTimeout(kill);
      resolve(code === 0);
    });
  });
}

/** Probes for one kubelet; `netns` is the node namespace path (undefined: the kubelet's own). */
export function createProbeRunner(cri: CriClient, netns: string | undefined, clock: () => number = Date.now): ProbeRunner {
  const states = new Map<string, ProbeState>();

  async function runOnce(probe: Probe, c: Container, containerId: string, podIP: string | undefined): Promise<boolean> {
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    if (probe.exec?.command?.length) {
      try {
        return (await cri.execSync(containerId, probe.exec.command, Math.ceil(timeout / 1000))).exitCode === 0;
      } catch {
        return false;
      }
    }
    if (!podIP) return false;
    if (probe.tcpSocket) return netCheck(netns, 'tcp', probe.tcpSocket.host ?? podIP, resolvePort(c, probe.tcpSocket.port), '', timeout);
    if (probe.httpGet) return netCheck(netns, 'http', probe.httpGet.host ?? podIP, resolvePort(c, probe.httpGet.port), probe.httpGet.path ?? '/', timeout);
    return true;
  }

  function verdict(kind: string, probe: Probe | undefined, pod: Pod, c: Container, containerId: string, startedAtMs: number, podIP: string | undefined, initial: boolean): boolean {
    if (!probe) return true;
    const key = `${pod.metadata.uid}/${c.name}/${containerId}/${kind}`;
    let s = states.get(key);
    if (!s) {
      s = { lastRun: 0, running: false, successes: 0, failures: 0, ok: initial };
      states.set(key, s);
    }
    const t = clock();
    const due = t >= startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000 && t - s.lastRun >= (probe.periodSeconds ?? 10) * 1000;
    if (due && !s.running) {
      s.running = true;
      s.lastRun = t;
      const st = s;
      void runOnce(probe, c, containerId, podIP).then((ok) => {
        st.running = false;
        if (ok) {
          st.successes++;
          st.failures = 0;
          if (st.successes >= (probe.successThreshold ?? 1)) st.ok = true;
        } else {
          st.failures++;
          st.successes = 0;
          if (st.failures >= (probe.failureThreshold ?? 3)) st.ok = false;
        }
      });
    }
    return s.ok;
  }

  return {
    async ready(pod, c, id, started, podIP) {
      // A container that this node already reported ready (a kubelet
      // restart: same container id in the API status) stays ready until its
      // probe says otherwise, so restarting the kubelet never empties Endpoints.
      const reported = pod.status?.containerStatuses?.find((cs) => cs.name === c.name);
      const wasReady = reported?.ready === true && reported.containerID !== undefined && reported.containerID.endsWith(`://${id}`);
      return verdict('readiness', c.readinessProbe, pod, c, id, started, podIP ?? pod.status?.podIP, wasReady);
    },
    async alive(pod, c, id, started, podIP) {
      return verdict('liveness', c.livenessProbe, pod, c, id, started, podIP ?? pod.status?.podIP, true);
    },
    forget(uid) {
      for (const k of [...states.keys()]) if (k.startsWith(`${uid}/`)) states.delete(k);
    },
  };
}
