// One pod's sync loop against the runtime: sandbox, images (pull if
// missing, back-off on failure), containers (create/start, postStart hook,
// restart by policy with exponential back-off, kills on failed startup or
// liveness probes with the preStop hook first), observation for the status,
// refreshing dynamic volume files, and the graceful teardown when the pod is
// deleted. Level-triggered: each sync reads the runtime and converges; calls
// for one pod never overlap.
import type { ClusterDnsSettings } from './dns.js';
import { mkdirSync } from 'node:fs';
import type { Container, Pod } from '../api/core.js';
import type { Logger } from '../log/logger.js';
import type { CriClient } from './cri/client.js';
import { CriError, isCriNotFound } from './cri/errors.js';
import type { ContainerStatus as CriContainerStatus, PodSandboxConfig } from './cri/types.js';
import { containerConfig, containerEnv, EnvError, LABEL_CONTAINER_NAME, LABEL_POD_UID, podLogDirectory, sandboxConfig, type EnvContext } from './pod-spec.js';
import type { HandlerRunner } from './handlers.js';
import { killGrace, lifecycleOf, remainingGrace, runHook } from './lifecycle.js';
import type { ObservedContainer, ObservedPod, ObservedState } from './pod-status.js';
import type { ProbeRunner } from './probes.js';
import { containerMounts, prepareVolumes, refreshVolumes, VolumeError, type DataSource, type VolumeSources } from './volumes.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export interface WorkerDeps {
  cri: CriClient;
  node: string;
  nodeIP: string;
  cgroupParent: string;
  logRoot: string;
  dns?: ClusterDnsSettings;
  restartBackoff: BackoffPolicy;
  imageBackoff: BackoffPolicy;
  pullTimeoutMs: number;
  /** ConfigMap/Secret data for env references. */
  getData: DataSource;
  /** What volumes are made of (ConfigMaps/Secrets, tokens, node allocatable). */
  volumeSources: VolumeSources;
  /** Runs lifecycle hook actions. */
  handlers: HandlerRunner;
  /** Root of the pods' volume directories. */
  volumeRoot: string;
  probes: ProbeRunner;
  /** Records a core/v1 Event about the pod (kubectl describe shows them). */
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  logger: Logger;
  clock?: () => number;
}

interface ContainerRecord {
  id?: string;
  restartCount: number;
  attempt: number;
  imageRef: string;
  last?: ObservedState;
  waiting?: { reason: string; message?: string };
  restartAt: number;
  pullAt: number;
  pullDelay: number;
  started: boolean;
  final?: ObservedState;
  /** The back-off of the current exit has been announced. */
  backoffNoted?: boolean;
  /** Last FailedMount event (message, time), so a volume stuck failing is not announced every sync. */
  mountNoted?: { message: string; at: number };
}

/** postStart has no deadline upstream; ours keeps a hung hook from wedging the pod's sync forever. */
const POST_START_TIMEOUT_MS = 120_000;

const iso = (ns: number) => new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d+Z$/, 'Z');
const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Delay before restart n (0-based count of restarts so far): none for the first, then initial * 2^(n-1), capped. */
export function restartDelay(p: BackoffPolicy, restarts: number): number {
  return restarts === 0 ? 0 : Math.min(p.maxMs, p.initialMs * 2 ** (restarts - 1));
}

export class PodWorker {
  private sandboxId?: string;
  private sandboxAttempt = 0;
  private sandboxCfg?: PodSandboxConfig;
  private sandboxError?: string;
  private sandboxRetryAt = 0;
  private podIP?: string;
  private startTime = nowIso();
  private readonly records = new Map<string, ContainerRecord>();
  private adopted = false;
  private refreshError = '';
  terminated = false;

  constructor(readonly uid: string, private readonly d: WorkerDeps) {}

  private now(): number {
    return this.d.clock?.() ?? Date.now();
  }

  private rec(name: string): ContainerRecord {
    let r = this.records.get(name);
    if (!r) {
      r = { restartCount: 0, attempt: 0, imageRef: '', restartAt: 0, pullAt: 0, pullDelay: 0, started: false };
      this.records.set(name, r);
    }
    return r;
  }

  /** Finds a sandbox and containers a previous kubelet run made for this pod (uid label). */
  private async adopt(pod: Pod): Promise<void> {
    this.adopted = true;
    // A pod in a terminal phase stays finished across a kubelet restart (its
    // sandbox was stopped when it finished): adopt that stopped sandbox and
    // its exited containers instead of starting the pod again.
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    const boxes = (await this.d.cri.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: this.uid }, ...(finished ? {} : { state: { state: 'SANDBOX_READY' } }) })).sort((a, b) => b.createdAt - a.createdAt);
    const box = boxes[0];
    if (finished) this.terminated = true;
    if (!box) return;
    this.sandboxId = box.id;
    this.sandboxAttempt = box.metadata?.attempt ?? 0;
    this.sandboxCfg = sandboxConfig(pod, { cgroupParent: this.d.cgroupParent, logRoot: this.d.logRoot, node: this.d.node, attempt: this.sandboxAttempt, dns: this.d.dns });
    this.podIP = pod.spec.hostNetwork ? this.d.nodeIP : (await this.d.cri.podSandboxStatus(box.id)).network?.ip || undefined;
    for (const c of await this.d.cri.listContainers({ podSandboxId: box.id })) {
      const name = c.labels[LABEL_CONTAINER_NAME];
      if (!name) continue;
      const r = this.rec(name);
      const attempt = c.metadata?.attempt ?? 0;
      if (r.id && attempt < r.attempt) continue;
      Object.assign(r, { id: c.id, attempt, restartCount: attempt, imageRef: c.imageRef, started: true });
    }
  }

  /** Brings the runtime to what the pod asks for; returns what was observed. */
  async sync(pod: Pod): Promise<ObservedPod> {
    if (!this.adopted) await this.adopt(pod).catch((err: Error) => this.d.logger.warn({ pod: this.uid, err: err.message }, 'adopt failed'));
    if (!this.terminated) await this.ensureSandbox(pod);
    // Init containers one at a time, each to a successful exit, before any regular container.
    const initContainers: ObservedContainer[] = [];
    let initialized = true;
    let initFailed = false;
    for (const c of pod.spec.initContainers ?? []) {
      if (!initialized) {
        initContainers.push(this.observedFrom(c, this.rec(c.name), { waiting: { reason: 'PodInitializing' } }, false, false));
        continue;
      }
      const o = await this.syncContainer(pod, c, true);
      initContainers.push(o);
      const ok = o.final && 'terminated' in o.state && o.state.terminated.exitCode === 0;
      if (!ok) initialized = false;
      if (o.final && !ok) initFailed = true;
    }
    const containers: ObservedContainer[] = [];
    for (const c of pod.spec.containers) {
      containers.push(initialized ? await this.syncContainer(pod, c, false) : this.observedFrom(c, this.rec(c.name), { waiting: { reason: 'PodInitializing' } }, false, initFailed));
    }
    if (!this.terminated && this.sandboxId) {
      // Labels/annotations in downwardAPI files and tokens due for renewal; a failure keeps the old files.
      const failures = (await refreshVolumes(pod, this.d.volumeRoot, this.d.volumeSources)).join('; ');
      if (failures && failures !== this.refreshError) this.d.logger.warn({ pod: pod.metadata.name, err: failures }, 'volume refresh failed');
      this.refreshError = failures;
    }
    const observed: ObservedPod = {
      hostIP: this.d.nodeIP, podIP: this.podIP, startTime: pod.status?.startTime ?? this.startTime,
      sandboxReady: this.sandboxId !== undefined && !this.sandboxError, containers, initContainers, initialized,
      ...(this.sandboxError ? { reason: 'FailedCreatePodSandBox', message: this.sandboxError } : {}),
    };
    if (!this.terminated && (initFailed || (containers.length > 0 && containers.every((c) => c.final)))) {
      // Finished for good: release the pod's IP now, keep the containers (and logs) until deletion.
      this.terminated = true;
      if (this.sandboxId) await this.d.cri.stopPodSandbox(this.sandboxId).catch((err: Error) => this.d.logger.warn({ err: err.message }, 'stop sandbox of finished pod'));
    }
    return observed;
  }

  private async ensureSandbox(pod: Pod): Promise<void> {
    if (this.sandboxId) {
      let ready = false;
      try {
        ready = (await this.d.cri.podSandboxStatus(this.sandboxId)).state === 'SANDBOX_READY';
      } catch (err) {
        if (!isCriNotFound(err)) throw err;
      }
      if (ready) return;
      // The sandbox died (pause killed, node netns trouble): start over with a new one, keeping restart counts.
      this.d.logger.warn({ pod: pod.metadata.name, sandbox: this.sandboxId }, 'sandbox not ready, recreating');
      await this.removeSandbox(2);
      this.sandboxAttempt++;
    }
    if (this.now() < this.sandboxRetryAt) return;
    const cfg = sandboxConfig(pod, { cgroupParent: this.d.cgroupParent, logRoot: this.d.logRoot, node: this.d.node, attempt: this.sandboxAttempt, dns: this.d.dns });
    mkdirSync(podLogDirectory(this.d.logRoot, pod), { recursive: true });
    try {
      this.sandboxId = await this.d.cri.runPodSandbox(cfg);
      this.sandboxCfg = cfg;
      this.sandboxError = undefined;
      // Host-network pods share the node's namespace (no CNI): their IP is the node's, as Kubernetes reports it.
      this.podIP = pod.spec.hostNetwork ? this.d.nodeIP : (await this.d.cri.podSandboxStatus(this.sandboxId)).network?.ip || undefined;
    } catch (err) {
      this.sandboxError = err instanceof CriError ? err.details : String(err);
      this.d.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${this.sandboxError}`);
      this.sandboxRetryAt = this.now() + restartDelay(this.d.restartBackoff, Math.max(1, this.sandboxAttempt++));
      this.d.logger.warn({ pod: pod.metadata.name, err: this.sandboxError }, 'RunPodSandbox failed');
    }
  }

  private observedFrom(c: Container, r: ContainerRecord, state: ObservedState, ready: boolean, final: boolean, started = 'running' in state): ObservedContainer {
    return {
      name: c.name, image: c.image ?? '', imageID: r.imageRef, ...(r.id ? { containerID: `containerd://${r.id}` } : {}),
      state, ...(r.last ? { lastState: r.last } : {}), restartCount: r.restartCount, ready, started, final,
    };
  }

  /**
   * Stops one container the way the kubelet does: its preStop hook first (if
   * it is running and there is a grace period), then StopContainer with what
   * is left of graceSeconds.
   */
  private async killContainer(pod: Pod | undefined, c: Container | undefined, id: string, graceSeconds: number): Promise<void> {
    const t0 = this.now();
    const preStop = c && lifecycleOf(c)?.preStop;
    if (pod && c && preStop && graceSeconds > 0) {
      const running = await this.d.cri.containerStatus(id).then((st) => st.state === 'CONTAINER_RUNNING', () => false);
      if (running) {
        const failed = await runHook(this.d.handlers, preStop, pod, c, id, this.podIP, graceSeconds * 1000);
        if (failed) this.d.event(pod, 'Warning', 'FailedPreStopHook', failed);
      }
    }
    await this.d.cri.stopContainer(id, remainingGrace(graceSeconds, this.now() - t0)).catch((err: Error) => {
      if (!isCriNotFound(err)) this.d.logger.warn({ err: err.message }, 'stop container');
    });
  }

  private async syncContainer(pod: Pod, c: Container, init: boolean): Promise<ObservedContainer> {
    const r = this.rec(c.name);
    if (r.final) return this.observedFrom(c, r, r.final, false, true);
    let st: CriContainerStatus | undefined;
    if (r.id) {
      try {
        st = await this.d.cri.containerStatus(r.id);
      } catch (err) {
        if (!isCriNotFound(err)) throw err;
        r.id = undefined;
      }
    }
    if (st?.state === 'CONTAINER_RUNNING') {
      r.started = true;
      r.waiting = undefined;
      const startedMs = st.startedAt / 1e6;
      const running: ObservedState = { running: { startedAt: iso(st.startedAt) } };
      // Until the startup probe succeeds, liveness and readiness do not run and the container is not ready.
      const startup = init ? 'started' : await this.d.probes.startup(pod, c, r.id!, startedMs, this.podIP);
      if (startup === 'failed') {
        this.d.logger.info({ pod: pod.metadata.name, container: c.name }, 'startup probe failed, restarting');
        this.d.event(pod, 'Normal', 'Killing', `Container ${c.name} failed startup probe, will be restarted`);
        await this.killContainer(pod, c, r.id!, killGrace(pod, c.startupProbe?.terminationGracePeriodSeconds));
        return this.observedFrom(c, r, running, false, false, false);
      }
      if (startup === 'waiting') return this.observedFrom(c, r, running, false, false, false);
      const ready = !init && (await this.d.probes.ready(pod, c, r.id!, startedMs, this.podIP));
      if (!(await this.d.probes.alive(pod, c, r.id!, startedMs, this.podIP))) {
        this.d.logger.info({ pod: pod.metadata.name, container: c.name }, 'liveness probe failed, restarting');
        this.d.event(pod, 'Normal', 'Killing', `Container ${c.name} failed liveness probe, will be restarted`);
        await this.killContainer(pod, c, r.id!, killGrace(pod, c.livenessProbe?.terminationGracePeriodSeconds));
      }
      return this.observedFrom(c, r, running, ready, false, true);
    }
    if (st && (st.state === 'CONTAINER_EXITED' || st.state === 'CONTAINER_UNKNOWN')) {
      const terminated: ObservedState = { terminated: {
        exitCode: st.exitCode, reason: st.reason || (st.exitCode === 0 ? 'Completed' : 'Error'), ...(st.message ? { message: st.message } : {}),
        startedAt: st.startedAt ? iso(st.startedAt) : undefined, finishedAt: iso(st.finishedAt || Date.now() * 1e6), containerID: `containerd://${st.id}`,
      } };
      // Init containers run to completion: they are restarted only on failure, and never under Never.
      const podPolicy = pod.spec.restartPolicy ?? 'Always';
      const policy = init ? (podPolicy === 'Never' ? 'Never' : 'OnFailure') : podPolicy;
      const restart = !this.terminated && (policy === 'Always' || (policy === 'OnFailure' && st.exitCode !== 0));
      if (!restart) {
        r.final = terminated;
        return this.observedFrom(c, r, terminated, false, true);
      }
      if (r.restartAt === 0) r.restartAt = Math.floor(st.finishedAt / 1e6) + restartDelay(this.d.restartBackoff, r.restartCount);
      if (this.now() < r.restartAt) {
        const secs = Math.round(restartDelay(this.d.restartBackoff, r.restartCount) / 1000);
        r.last = terminated;
        if (!r.backoffNoted) this.d.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${this.uid})`);
        r.backoffNoted = true;
        return this.observedFrom(c, r, { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${secs}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${this.uid})` } }, false, false);
      }
      // Restart: the old instance goes (its state lives on as lastState), a new attempt is created.
      r.last = terminated;
      await this.d.cri.removeContainer(r.id!).catch((err: Error) => this.d.logger.warn({ err: err.message }, 'remove exited container'));
      this.d.probes.forget(this.uid, r.id);
      r.id = undefined;
      r.restartCount++;
      r.attempt++;
      r.restartAt = 0;
      r.backoffNoted = false;
    }
    if (this.terminated || !this.sandboxId || !this.sandboxCfg) {
      return this.observedFrom(c, r, { waiting: { reason: 'ContainerCreating' } }, false, false);
    }
    await this.startContainer(pod, c, r);
    const state: ObservedState = r.id && !r.waiting ? { running: { startedAt: nowIso() } } : { waiting: r.waiting ?? { reason: 'ContainerCreating' } };
    return this.observedFrom(c, r, state, false, false, 'running' in state && !c.startupProbe);
  }

  /** Pull-if-missing with back-off; returns the image ref or undefined (r.waiting says why). */
  private async ensureImage(pod: Pod, c: Container, r: ContainerRecord): Promise<string | undefined> {
    const image = c.image ?? '';
    // imagePullPolicy Always is treated as IfNotPresent: ebbflow nodes usually reach no registry, and a
    // present image of that name is what the user imported for this node.
    const present = await this.d.cri.imageStatus(image);
    if (present) return present.id;
    if (c.imagePullPolicy === 'Never') {
      r.waiting = { reason: 'ErrImageNeverPull', message: `Container image "${image}" is not present with pull policy of Never` };
      return undefined;
    }
    if (this.now() < r.pullAt) {
      if (r.waiting?.reason === 'ErrImagePull') this.d.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
      r.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ${r.waiting?.message?.replace(/^Back-off pulling image "[^"]*": /, '') ?? ''}` };
      return undefined;
    }
    this.d.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
    try {
      const t0 = this.now();
      const ref = await this.d.cri.pullImage(image, this.sandboxCfg, this.d.pullTimeoutMs);
      this.d.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${this.now() - t0}ms`);
      return ref;
    } catch (err) {
      r.pullDelay = r.pullDelay ? Math.min(this.d.imageBackoff.maxMs, r.pullDelay * 2) : this.d.imageBackoff.initialMs;
      r.pullAt = this.now() + r.pullDelay;
      r.waiting = { reason: 'ErrImagePull', message: `failed to pull image "${image}": ${err instanceof CriError ? err.details : String(err)}` };
      this.d.event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${r.waiting.message}`);
      return undefined;
    }
  }

  private async startContainer(pod: Pod, c: Container, r: ContainerRecord): Promise<void> {
    const imageRef = await this.ensureImage(pod, c, r);
    if (!imageRef) return;
    r.imageRef = imageRef;
    let env: { key: string; value: string }[];
    let mounts: { containerPath: string; hostPath: string; readonly: boolean }[];
    let volumes: Map<string, string>;
    try {
      volumes = await prepareVolumes(pod, this.d.volumeRoot, this.d.volumeSources);
    } catch (err) {
      // As upstream: the container stays ContainerCreating and a FailedMount event says why (not every sync).
      const message = err instanceof VolumeError ? err.message : String(err);
      if (r.mountNoted?.message !== message || this.now() - r.mountNoted.at > 30_000) {
        this.d.event(pod, 'Warning', 'FailedMount', message);
        r.mountNoted = { message, at: this.now() };
      }
      r.waiting = { reason: 'ContainerCreating', message };
      return;
    }
    r.mountNoted = undefined;
    try {
      mounts = containerMounts(c, volumes, pod);
      const refs: EnvContext['refs'] = new Map();
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.configMapKeyRef ? { kind: 'configmap' as const, ...e.valueFrom.configMapKeyRef } : e.valueFrom?.secretKeyRef ? { kind: 'secret' as const, ...e.valueFrom.secretKeyRef } : undefined;
        if (ref) refs.set(`${ref.kind}/${ref.name}/${ref.key}`, (await this.d.getData(pod.metadata.namespace ?? 'default', ref.kind, ref.name))?.[ref.key]?.toString());
      }
      env = containerEnv(c, { pod, podIP: this.podIP ?? '', hostIP: this.d.nodeIP, refs, allocatable: this.d.volumeSources.allocatable });
    } catch (err) {
      r.waiting = { reason: 'CreateContainerConfigError', message: err instanceof EnvError || err instanceof VolumeError ? err.message : String(err) };
      return;
    }
    let id: string;
    try {
      id = await this.d.cri.createContainer(this.sandboxId!, containerConfig(pod, c, { attempt: r.attempt, image: c.image ?? '', env, mounts, node: this.d.node }), this.sandboxCfg!);
    } catch (err) {
      r.waiting = { reason: 'CreateContainerError', message: err instanceof CriError ? err.details : String(err) };
      return;
    }
    r.id = id;
    this.d.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
    try {
      await this.d.cri.startContainer(id);
      r.waiting = undefined;
      r.started = true;
      this.d.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    } catch (err) {
      // A failed start leaves an exited container: the next sync sees it and applies the restart policy.
      r.waiting = { reason: 'RunContainerError', message: err instanceof CriError ? err.details : String(err) };
      return;
    }
    const postStart = lifecycleOf(c)?.postStart;
    if (postStart) {
      const failed = await runHook(this.d.handlers, postStart, pod, c, id, this.podIP, POST_START_TIMEOUT_MS);
      if (failed) {
        // Killed (preStop included, as upstream); the exited container then goes by the restart policy.
        this.d.event(pod, 'Warning', 'FailedPostStartHook', failed);
        this.d.event(pod, 'Normal', 'Killing', `FailedPostStartHook`);
        await this.killContainer(pod, c, id, pod.spec.terminationGracePeriodSeconds ?? 30);
        r.waiting = { reason: 'PostStartHookError', message: failed };
      }
    }
  }

  private async removeSandbox(graceSeconds: number, pod?: Pod): Promise<void> {
    const specs = new Map([...(pod?.spec.containers ?? []), ...(pod?.spec.initContainers ?? [])].map((c) => [c.name, c]));
    const live = [...this.records].filter(([, r]) => r.id);
    const ids = live.map(([, r]) => r.id!);
    // In parallel: each container's preStop hook and stop share the one grace period.
    await Promise.all(live.map(([name, r]) => this.killContainer(pod, specs.get(name), r.id!, graceSeconds)));
    for (const id of ids) await this.d.cri.removeContainer(id).catch(() => undefined);
    for (const r of this.records.values()) r.id = undefined;
    if (this.sandboxId) {
      await this.d.cri.stopPodSandbox(this.sandboxId).catch((err: Error) => {
        if (!isCriNotFound(err)) throw err;
      });
      await this.d.cri.removePodSandbox(this.sandboxId).catch((err: Error) => {
        if (!isCriNotFound(err)) throw err;
      });
    }
    this.sandboxId = undefined;
    this.sandboxCfg = undefined;
    this.podIP = undefined;
  }

  /** Graceful teardown: containers get graceSeconds, then the sandbox (and its IP) goes. Idempotent. */
  async teardown(graceSeconds: number, pod?: Pod): Promise<void> {
    this.terminated = true;
    if (pod) for (const c of pod.spec.containers) if (this.records.get(c.name)?.id) this.d.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
    // Also whatever a previous kubelet run left for this uid.
    const boxes = await this.d.cri.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: this.uid } });
    for (const b of boxes) {
      for (const c of await this.d.cri.listContainers({ podSandboxId: b.id })) {
        if (![...this.records.values()].some((r) => r.id === c.id)) this.records.set(`orphan-${c.id}`, { id: c.id, restartCount: 0, attempt: 0, imageRef: '', restartAt: 0, pullAt: 0, pullDelay: 0, started: true });
      }
    }
    await this.removeSandbox(graceSeconds, pod);
    for (const b of boxes) {
      await this.d.cri.stopPodSandbox(b.id).catch(() => undefined);
      await this.d.cri.removePodSandbox(b.id).catch(() => undefined);
    }
    this.d.probes.forget(this.uid);
  }
}
