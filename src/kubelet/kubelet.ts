// The kubelet: registers its Node, keeps the node Lease and status fresh
// (Ready follows CRI Status), watches the pods bound to it and runs one
// serialized sync per pod against the CRI runtime, posting pod status
// through pods/status, and finishes graceful deletions once the runtime has
// stopped everything.
import type { Node, Pod } from '../api/core.js';
import type { KubeObject } from '../api/meta.js';
import { connect, type Client } from '../client/client.js';
import { createEventRecorder } from '../client/events.js';
import { isConflict, isNotFound } from '../client/errors.js';
import { makeInformer, type Informer } from '../client/informer.js';
import { resources } from '../client/resources.js';
import { forComponent, type Logger } from '../log/logger.js';
import { createCriClient, type CriClient } from './cri/client.js';
import type { RuntimeStatus, VersionResponse } from './cri/types.js';
import { nodeStatus, postNodeStatus, readyCondition, registerNode, renewLease } from './node-status.js';
import { LABEL_MANAGED_BY, LABEL_POD_UID } from './pod-spec.js';
import { podStatus, statusKey } from './pod-status.js';
import { PodWorker, type BackoffPolicy } from './pod-worker.js';
import { dirname, join } from 'node:path';
import { removePodLogs } from './logs.js';
import { removePodVolumes, type VolumeSources } from './volumes.js';
import { createProbeRunner } from './probes.js';
import { createHandlerRunner } from './handlers.js';
import { createTokenManager } from './tokens.js';
import { hostCapacity } from './node-status.js';
import { parseQuantity } from './quantity.js';
import { startKubeletServer, type KubeletServer, type KubeletServerConfig } from './server.js';

export interface KubeletConfig {
  node: string;
  kubeconfig: string;
  /** containerd's CRI socket. */
  criAddress: string;
  podCIDR: string;
  /** The node's address (status.hostIP, InternalIP). */
  nodeIP: string;
  /** cgroupfs parent of all sandboxes/containers, e.g. /ebbflow-test-kl-123 (created by runc in every hierarchy). */
  cgroupParent: string;
  /** Root of the pod log directories. */
  logRoot: string;
  /** Cluster DNS Service IPs and domain written into ClusterFirst pods' resolv.conf (--cluster-dns). */
  clusterDNS?: string[];
  clusterDomain?: string;
  /** Root of the pods' volume directories (default: <logRoot>/../volumes). */
  volumeRoot?: string;
  /** Node network namespace path, for tcp/http probes (the pods are reachable there). */
  netns?: string;
  maxPods?: number;
  /** Node status and lease renewal interval (default 10 s). */
  heartbeatMs?: number;
  /** How often every pod is re-synced against the runtime (default 1 s). */
  syncIntervalMs?: number;
  restartBackoff?: BackoffPolicy;
  imageBackoff?: BackoffPolicy;
  pullTimeoutMs?: number;
  /** The kubelet API (container logs) for the API server; none = not served. InternalIP must reach it. */
  server?: KubeletServerConfig;
  logger: Logger;
}

export interface KubeletHandle {
  readonly node: string;
  readonly cri: CriClient;
  readonly pods: Informer<Pod>;
  /** The kubelet API's port, when served. */
  readonly serverPort?: number;
  /** Runs one sync of every pod and one heartbeat now. */
  syncNow(): Promise<void>;
  stop(): Promise<void>;
}

export async function startKubelet(config: KubeletConfig): Promise<KubeletHandle> {
  const log = forComponent(config.logger, 'kubelet');
  const client: Client = connect(config.kubeconfig);
  const cri = createCriClient({ address: config.criAddress });
  const id = { name: config.node, podCIDR: config.podCIDR, nodeIP: config.nodeIP, maxPods: config.maxPods ?? 110 };
  let version: VersionResponse | undefined;
  let node: Node | undefined;
  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  let server: KubeletServer | undefined;

  const heartbeat = async () => {
    let status: RuntimeStatus | undefined;
    let err: unknown;
    try {
      version ??= await cri.version();
      status = await cri.status();
    } catch (e) {
      err = e;
    }
    node ??= await registerNode(client, id);
    const prevReady = node.status?.conditions?.find((c) => c.type === 'Ready');
    node = await postNodeStatus(client, config.node, nodeStatus(id, version, readyCondition(status, err, prevReady), node, server?.port));
    await renewLease(client, node);
  };

  const workers = new Map<string, PodWorker>();
  const running = new Map<string, Promise<void>>();
  const dirty = new Set<string>();
  const lastPosted = new Map<string, string>();
  const volumeRoot = config.volumeRoot ?? join(dirname(config.logRoot), 'volumes');
  const recorder = createEventRecorder(client, { component: 'kubelet', host: config.node, logger: log });
  const podEvent = (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string) => recorder.event({ ...pod, apiVersion: 'v1', kind: 'Pod' }, type, reason, message);
  const handlers = createHandlerRunner(cri, config.netns);
  const probes = createProbeRunner(handlers, Date.now, (pod, _c, _kind, message) => podEvent(pod, 'Warning', 'Unhealthy', message));
  // Tokens for projected serviceAccountToken sources, bound to the pod (TokenRequest).
  const tokens = createTokenManager(async (ns, sa, spec) => {
    const r = await client.post<{ status?: { token?: string; expirationTimestamp?: string } }>(resources.serviceaccounts, ns, sa, 'token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });
    if (!r.status?.token) throw new Error(`TokenRequest for ${ns}/${sa} returned no token`);
    return { token: r.status.token, expirationTimestamp: r.status.expirationTimestamp ?? '' };
  });
  const cap = hostCapacity(config.maxPods ?? 110);
  const allocatable = { cpu: parseQuantity(cap.cpu), memory: parseQuantity(cap.memory), ephemeralStorage: parseQuantity(cap['ephemeral-storage']) };
  const pods = makeInformer<Pod>(client, resources.pods, { fieldSelector: `spec.nodeName=${config.node}`, logger: log });
  const deps = {
    cri, node: config.node, nodeIP: config.nodeIP, cgroupParent: config.cgroupParent, logRoot: config.logRoot,
    dns: config.clusterDNS?.length ? { servers: config.clusterDNS, domain: config.clusterDomain ?? 'cluster.local' } : undefined,
    restartBackoff: config.restartBackoff ?? { initialMs: 10_000, maxMs: 300_000 },
    imageBackoff: config.imageBackoff ?? { initialMs: 10_000, maxMs: 300_000 },
    pullTimeoutMs: config.pullTimeoutMs ?? 60_000,
    probes, logger: log,
    event: podEvent,
    volumeRoot,
    handlers,
    async getData(ns: string, kind: 'configmap' | 'secret', name: string) {
      try {
        const o = await client.get<KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> }>(kind === 'configmap' ? resources.configmaps : resources.secrets, ns, name);
        const data: Record<string, string | Buffer> = {};
        for (const [k, v] of Object.entries(o.data ?? {})) data[k] = kind === 'secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
        for (const [k, v] of Object.entries(o.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
        return data;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  };

  const volumeSources: VolumeSources = { getData: deps.getData, getToken: (pod, audience, seconds) => tokens.get(pod, audience, seconds), allocatable };
  const workerDeps = { ...deps, volumeSources };

  async function syncPod(uid: string): Promise<void> {
    const pod = pods.store.list().find((p) => p.metadata.uid === uid);
    let w = workers.get(uid);
    if (!pod || pod.metadata.deletionTimestamp) {
      if (!w && !pod) return;
      w ??= new PodWorker(uid, workerDeps);
      workers.set(uid, w);
      const grace = pod ? (pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30) : 0;
      await w.teardown(grace, pod);
      removePodLogs(config.logRoot, uid);
      removePodVolumes(volumeRoot, uid);
      tokens.forget(uid);
      workers.delete(uid);
      lastPosted.delete(uid);
      if (pod) {
        try {
          await client.delete(resources.pods, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } });
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        }
      }
      log.info({ pod: pod?.metadata.name, uid }, 'pod torn down');
      return;
    }
    if (!w) {
      w = new PodWorker(uid, workerDeps);
      workers.set(uid, w);
    }
    const observed = await w.sync(pod);
    const status = podStatus(pod, observed);
    const key = statusKey(status);
    if (lastPosted.get(uid) === key) return;
    try {
      await client.patch<Pod>(resources.pods, pod.metadata.namespace, pod.metadata.name!, { status }, 'merge', 'status');
      lastPosted.set(uid, key);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Queues a sync of one pod; syncs of the same pod never overlap (a request during one runs after it). */
  function kick(uid: string): Promise<void> {
    if (stopping) return Promise.resolve();
    const cur = running.get(uid);
    if (cur) {
      dirty.add(uid);
      return cur;
    }
    const p = (async () => {
      do {
        dirty.delete(uid);
        try {
          await syncPod(uid);
        } catch (err) {
          log.warn({ uid, err: (err as Error).message }, 'pod sync failed; retrying on the next tick');
        }
      } while (dirty.has(uid) && !stopping);
    })().finally(() => running.delete(uid));
    running.set(uid, p);
    return p;
  }

  /** Sandboxes this kubelet made for pods that no longer exist (e.g. deleted while it was down). */
  async function removeOrphans(): Promise<void> {
    const known = new Set(pods.store.list().map((p) => p.metadata.uid));
    for (const b of await cri.listPodSandbox({ labelSelector: { [LABEL_MANAGED_BY]: config.node } })) {
      const uid = b.labels[LABEL_POD_UID];
      if (uid && !known.has(uid) && !workers.has(uid)) {
        const w = new PodWorker(uid, workerDeps);
        workers.set(uid, w);
        await w.teardown(0).catch((err: Error) => log.warn({ uid, err: err.message }, 'orphan teardown'));
        workers.delete(uid);
      }
    }
  }

  if (config.server) {
    server = await startKubeletServer(config.server, {
      logRoot: config.logRoot, cri,
      findPod: (ns, name) => pods.store.list().find((p) => p.metadata.namespace === ns && p.metadata.name === name),
    });
  }
  try {
    await heartbeat();
  } catch (err) {
    await server?.close();
    throw err;
  }
  pods.on({
    add: (p) => void kick(p.metadata.uid!),
    update: (_, p) => void kick(p.metadata.uid!),
    delete: (p) => void kick(p.metadata.uid!),
  });
  pods.start();
  await pods.waitForSync();
  await removeOrphans().catch((err: Error) => log.warn({ err: err.message }, 'orphan sweep failed'));

  const tickAll = () => Promise.all([...new Set([...workers.keys(), ...pods.store.list().map((p) => p.metadata.uid!)])].map(kick)).then(() => undefined);
  timers.push(setInterval(() => void tickAll(), config.syncIntervalMs ?? 1000));
  timers.push(setInterval(() => void heartbeat().catch((err: Error) => log.warn({ err: err.message }, 'heartbeat failed')), config.heartbeatMs ?? 10_000));
  log.info({ node: config.node, cri: config.criAddress }, 'kubelet ready');

  return {
    node: config.node,
    cri,
    pods,
    serverPort: server?.port,
    async syncNow() {
      await heartbeat();
      await tickAll();
    },
    async stop() {
      stopping = true;
      for (const t of timers) clearInterval(t);
      await pods.stop();
      await Promise.all([...running.values()]);
      await server?.close();
      await recorder.flush().catch(() => undefined);
      cri.close();
      client.close();
    },
  };
}
