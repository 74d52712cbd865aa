// Startup, readiness and liveness probes (exec, tcpSocket, httpGet through
// handlers.ts). Probes run in the background on their period; sync reads
// the latest verdict and never waits for a probe. Until a container's
// startup probe has succeeded its liveness and readiness probes do not run
// (the worker asks for them only once startup() says 'started').
import type { Container, Pod, Probe } from '../api/core.js';
import type { HandlerRunner } from './handlers.js';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

/** A container's startup: still probing, succeeded once (for good), or failed failureThreshold times. */
export type StartupVerdict = 'started' | 'waiting' | 'failed';

export interface ProbeRunner {
  /** Whether the startup probe has succeeded (always 'started' without one). */
  startup(pod: Pod, c: Container, containerId: string, startedAtMs: number, podIP?: string): Promise<StartupVerdict>;
  /** Latest readiness of a running container (true when it has no readiness probe). */
  ready(pod: Pod, c: Container, containerId: string, startedAtMs: number, podIP?: string): Promise<boolean>;
  /** False once the liveness probe failed failureThreshold times in a row. */
  alive(pod: Pod, c: Container, containerId: string, startedAtMs: number, podIP?: string): Promise<boolean>;
  /** The last failure message of a probe of this container instance. */
  lastFailure(pod: Pod, c: Container, containerId: string, kind: ProbeKind): string | undefined;
  /** Drops the probe state of a pod, or of one of its container instances. */
  forget(uid: string, containerId?: string): void;
}

/** Called after each failed probe run (the kubelet records an Unhealthy event). */
export type ProbeFailureHook = (pod: Pod, c: Container, kind: ProbeKind, message: string) => void;

interface ProbeState {
  lastRun: number;
  running: boolean;
  successes: number;
  failures: number;
  ok: boolean;
  message?: string;
}

/** Pure: the state after one probe result (thresholds as Kubernetes defaults them). */
export function applyResult(s: Pick<ProbeState, 'successes' | 'failures' | 'ok'>, probe: Probe, ok: boolean): void {
  if (ok) {
    s.successes++;
    s.failures = 0;
    if (s.successes >= (probe.successThreshold ?? 1)) s.ok = true;
  } else {
    s.failures++;
    s.successes = 0;
    if (s.failures >= (probe.failureThreshold ?? 3)) s.ok = false;
  }
}

/** Pure: whether a probe run is due. */
export function probeDue(probe: Probe, startedAtMs: number, lastRun: number, now: number): boolean {
  return now >= startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000 && now - lastRun >= (probe.periodSeconds ?? 10) * 1000;
}

const TITLE: Record<ProbeKind, string> = { startup: 'Startup', readiness: 'Readiness', liveness: 'Liveness' };

/** Probes for one kubelet. */
export function createProbeRunner(handlers: HandlerRunner, clock: () => number = Date.now, onFailure?: ProbeFailureHook): ProbeRunner {
  const states = new Map<string, ProbeState>();
  const keyOf = (pod: Pod, c: Container, id: string, kind: ProbeKind) => `${pod.metadata.uid}/${c.name}/${id}/${kind}`;

  function state(kind: ProbeKind, probe: Probe, pod: Pod, c: Container, containerId: string, startedAtMs: number, podIP: string | undefined, initial: boolean): ProbeState {
    const key = keyOf(pod, c, containerId, kind);
    let s = states.get(key);
    if (!s) {
      s = { lastRun: -Infinity, running: false, successes: 0, failures: 0, ok: initial };
      states.set(key, s);
    }
    // A startup probe stops once it has succeeded.
    if (kind === 'startup' && s.ok) return s;
    const t = clock();
    if (!s.running && probeDue(probe, startedAtMs, s.lastRun, t)) {
      s.running = true;
      s.lastRun = t;
      const st = s;
      void handlers.run(probe, c, containerId, podIP, (probe.timeoutSeconds ?? 1) * 1000, 'probe').then((r) => {
        st.running = false;
        applyResult(st, kind === 'startup' ? { ...probe, successThreshold: 1 } : probe, r.ok);
        if (!r.ok) {
          st.message = r.message;
          onFailure?.(pod, c, kind, `${TITLE[kind]} probe failed: ${r.message}`.trim());
        }
      });
    }
    return s;
  }

  /** Whether this node already reported the same container instance with the flag set (kubelet restarted). */
  const reported = (pod: Pod, c: Container, id: string, flag: 'ready' | 'started') => {
    const cs = pod.status?.containerStatuses?.find((x) => x.name === c.name);
    return cs?.[flag] === true && cs.containerID !== undefined && cs.containerID.endsWith(`://${id}`);
  };

  return {
    async startup(pod, c, id, started, podIP) {
      const probe = c.startupProbe;
      if (!probe) return 'started';
      const s = state('startup', probe, pod, c, id, started, podIP ?? pod.status?.podIP, reported(pod, c, id, 'started'));
      if (s.ok) return 'started';
      return s.failures >= (probe.failureThreshold ?? 3) ? 'failed' : 'waiting';
    },
    async ready(pod, c, id, started, podIP) {
      // A container that this node already reported ready (a kubelet
      // restart: same container id in the API status) stays ready until its
      // probe says otherwise, so restarting the kubelet never empties Endpoints.
      if (!c.readinessProbe) return true;
      return state('readiness', c.readinessProbe, pod, c, id, started, podIP ?? pod.status?.podIP, reported(pod, c, id, 'ready')).ok;
    },
    async alive(pod, c, id, started, podIP) {
      if (!c.livenessProbe) return true;
      return state('liveness', c.livenessProbe, pod, c, id, started, podIP ?? pod.status?.podIP, true).ok;
    },
    lastFailure(pod, c, id, kind) {
      return states.get(keyOf(pod, c, id, kind))?.message;
    },
    forget(uid, containerId) {
      for (const k of [...states.keys()]) if (k.startsWith(`${uid}/`) && (!containerId || k.split('/')[2] === containerId)) states.delete(k);
    },
  };
}
