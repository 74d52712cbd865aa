// Cross-node Service vs direct pod IP, new connections per second: busybox
// httpd pods pinned to the other nodes behind a ClusterIP Service, and the crr
// client (bench/tools/crr.c) in the client node's network namespace *and* in
// a child cgroup of that node's cgroup (the socket LB is attached there and
// applies to descendants), entered before the first instruction. Rounds
// alternate the two targets so machine noise hits both alike.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import type { KubeObject } from '../../src/api/meta.js';
import type { Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { SLEEP_IMAGE } from './pod-ramp.js';
import type { CrrResult } from './types.js';

export const WEB_PORT = 8080;

/** A busybox httpd pod serving a 3-byte index.html, bound to one node. */
export function webPod(name: string, namespace: string, nodeName: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'benchweb' } },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'httpd', image: SLEEP_IMAGE,
        command: ['sh', '-c', `mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p ${WEB_PORT} -h /www`],
        readinessProbe: { tcpSocket: { port: WEB_PORT }, periodSeconds: 1 },
      }],
    },
  };
}

export function webService(namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'benchweb', namespace },
    spec: { selector: { app: 'benchweb' }, ports: [{ port: 80, targetPort: WEB_PORT, protocol: 'TCP' }] },
  };
}

interface Slice { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }

/** Waits until the Service's EndpointSlices list `want` ready addresses; returns its ClusterIP. */
export async function waitServiceReady(c: Client, namespace: string, want: readonly string[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const svc = await c.get<KubeObject>(resources.services, namespace, 'benchweb');
    const slices = (await c.list<KubeObject>(resources.endpointslices, namespace, { labelSelector: 'kubernetes.io/service-name=benchweb' })).items as unknown as Slice[];
    const ready = new Set(slices.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses)));
    const ip = (svc.spec as { clusterIP?: string }).clusterIP;
    if (ip && want.every((a) => ready.has(a))) return ip;
    if (Date.now() > deadline) throw new Error(`Service benchweb: endpoints ${[...ready].join(',') || 'none'} ready, want ${want.join(',')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface ClientPlace {
  /** Named network namespace of the client node. */
  netns: string;
  /** cgroup v2 directory for the client; created here, removed by removeClientCgroup. */
  cgroup?: string;
}

/** Runs argv in the namespace (and cgroup, entered by the shell before exec); resolves with stdout, rejects on failure. */
export function runPlaced(place: ClientPlace, argv: string[], timeoutMs: number): Promise<string> {
  const inNs = ['nsenter', `--net=/var/run/netns/${place.netns}`, '--', ...argv];
  const full = place.cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', place.cgroup, ...inNs] : inNs;
  return new Promise((resolve, reject) => {
    const p = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')}: exit ${code ?? signal}: ${err.trim()}`));
    });
  });
}

export function makeClientCgroup(path: string): void {
  mkdirSync(path, { recursive: false });
}

/** Removes the client cgroup (its processes have exited); absent is fine. */
export function removeClientCgroup(path: string): void {
  try {
    rmdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** GET url from the client's place with busybox wget (5 s limit); the body. */
export function httpGet(place: ClientPlace, url: string): Promise<string> {
  return runPlaced(place, ['busybox', 'timeout', '5', 'busybox', 'wget', '-q', '-O', '-', url], 10_000);
}

export interface RateConfig {
  pairs: number;
  durationMs: number;
  maxConnections: number;
  concurrency: number;
  warmupConnections: number;
  pauseMs: number;
}

/** CPU time (user + system) of a process in ms, 0 when gone; assumes USER_HZ 100 (Linux's fixed ABI value). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

export interface RateRun {
  mode: 'service' | 'direct';
  round: number;
  res: CrrResult;
  /** CPU ms each watched process used during the measured run (not the warm-up). */
  cpuMs: Record<string, number>;
}

/** Alternating bounded crr runs against the Service and the pods directly. */
export async function serviceVsDirect(crr: string, place: ClientPlace, service: string[], direct: string[], cfg: RateConfig,
  watch: Record<string, number>, say: (s: string) => void): Promise<RateRun[]> {
  const runs: RateRun[] = [];
  const crrRun = async (targets: string[], count: number, durationMs: number): Promise<CrrResult> => {
    const out = await runPlaced(place, [crr, 'client', '--target', targets.join(','), '--count', String(count), '--duration-ms', String(durationMs),
      '--concurrency', String(cfg.concurrency), '--timeout-ms', '1000', '--json'], durationMs + 30_000);
    return JSON.parse(out.trim().split('\n').pop() ?? '') as CrrResult;
  };
  for (let r = 0; r < cfg.pairs; r++) {
    const order: RateRun['mode'][] = r % 2 === 0 ? ['service', 'direct'] : ['direct', 'service'];
    for (const mode of order) {
      const targets = mode === 'service' ? service : direct;
      await new Promise((res) => setTimeout(res, cfg.pauseMs));
      await crrRun(targets, cfg.warmupConnections, 2000);
      const before = Object.fromEntries(Object.entries(watch).map(([k, pid]) => [k, cpuMsOf(pid)]));
      const res = await crrRun(targets, cfg.maxConnections, cfg.durationMs);
      const cpuMs = Object.fromEntries(Object.entries(watch).map(([k, pid]) => [k, cpuMsOf(pid) - before[k]!]));
      const cpu = Object.entries(cpuMs).map(([k, ms]) => `${k} ${Math.round(ms / res.seconds / 10)}%`).join(', ');
      say(`#   round ${r + 1} ${mode.padEnd(7)} ${targets.join(',')}: ${res.rate.toFixed(0)} conn/s, connect p50 ${res.connect_p50_us} us, crr p50 ${res.crr_p50_us} us p99 ${res.crr_p99_us} us, errors ${res.errors}; CPU ${cpu}`);
      runs.push({ mode, round: r, res, cpuMs });
    }
  }
  return runs;
}
