// A simulated kubelet for controller tests, working only through the API:
// registers Node objects, marks pods bound to its nodes Running and Ready
// with a pod IP, finishes graceful deletions, and lets a test flip a pod's
// readiness or make it exit (Succeeded / Failed).
import type { Node, Pod } from '../../src/api/core.js';
import type { Client } from '../../src/client/client.js';
import { objectKey } from '../../src/client/cache.js';
import { isNotFound } from '../../src/client/errors.js';
import { makeInformer, type Informer } from '../../src/client/informer.js';
import { resources } from '../../src/client/resources.js';

export interface SimKubeletOptions {
  client: Client;
  nodes: string[];
  /** Whether a new pod becomes Ready (default: yes). */
  ready?(pod: Pod): boolean;
  /** Whether a running pod exits at once, and how (default: keeps running). */
  exit?(pod: Pod): 'Succeeded' | 'Failed' | undefined;
  /** Node Lease renewal interval (default 2 s). */
  heartbeatMs?: number;
}

export interface SimKubelet {
  readonly pods: Informer<Pod>;
  /** Sets a pod's Ready condition. */
  setReady(namespace: string, name: string, ready: boolean): Promise<void>;
  stop(): Promise<void>;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function startSimKubelet(opts: SimKubeletOptions): Promise<SimKubelet> {
  const { client } = opts;
  const mine = new Set(opts.nodes);
  for (const [i, name] of opts.nodes.entries()) {
    const node: Node = { metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } }, spec: {} };
    let created: Node;
    try {
      created = await client.create<Node>(resources.nodes, undefined, node);
    } catch {
      created = await client.get<Node>(resources.nodes, undefined, name);
    }
    const capacity = { cpu: '8', memory: '16Gi', pods: '110' };
    await client.update<Node>(resources.nodes, { ...created, status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: now(), lastTransitionTime: now() }], addresses: [{ type: 'InternalIP', address: `192.168.0.${10 + i}` }, { type: 'Hostname', address: name }] } }, 'status');
  }
  // Heartbeats: one Lease per node in kube-node-lease, renewed until stop().
  const renew = async () => {
    const renewTime = new Date().toISOString().replace(/Z$/, '000Z');
    for (const name of opts.nodes) {
      try {
        await client.patch(resources.leases, 'kube-node-lease', name, { spec: { holderIdentity: name, renewTime } });
      } catch (err) {
        if (!isNotFound(err)) continue;
        await client.create(resources.leases, 'kube-node-lease', { metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime } }).catch(() => undefined);
      }
    }
  };
  await renew();
  const heartbeat = setInterval(() => void renew(), opts.heartbeatMs ?? 2000);
  const pods = makeInformer<Pod>(client, resources.pods);
  const ips = new Map<string, string>();
  let nextIp = 2;
  const inflight = new Set<string>();
  let chain = Promise.resolve();

  const ipOf = (p: Pod) => {
    const k = p.metadata.uid!;
    let ip = ips.get(k);
    if (!ip) {
      const n = nextIp++;
      ip = `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}`;
      ips.set(k, ip);
    }
    return ip;
  };

  async function writeStatus(p: Pod, ready: boolean, phase: 'Running' | 'Succeeded' | 'Failed'): Promise<void> {
    const t = now();
    const container = p.spec.containers[0]?.name ?? 'c';
    const running = phase === 'Running';
    const status = {
      phase,
      hostIP: '192.168.0.10',
      podIP: ipOf(p),
      podIPs: [{ ip: ipOf(p) }],
      startTime: p.status?.startTime ?? t,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        { type: 'ContainersReady', status: ready && running ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t },
        { type: 'Ready', status: ready && running ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t },
      ],
      containerStatuses: [{ name: container, ready: ready && running, restartCount: 0, image: p.spec.containers[0]?.image ?? '', imageID: '', started: running, state: running ? { running: { startedAt: t } } : { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, reason: phase === 'Succeeded' ? 'Completed' : 'Error', finishedAt: t } } }],
    };
    await client.patch<Pod>(resources.pods, p.metadata.namespace, p.metadata.name!, { status }, 'merge', 'status');
  }

  async function sync(key: string): Promise<void> {
    const p = pods.store.get(key);
    if (!p || !p.spec.nodeName || !mine.has(p.spec.nodeName)) return;
    try {
      if (p.metadata.deletionTimestamp) {
        await client.delete(resources.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } });
        return;
      }
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return;
      if (phase !== 'Running') {
        const exit = opts.exit?.(p);
        await writeStatus(p, exit ? false : (opts.ready?.(p) ?? true), exit ?? 'Running');
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  const kick = (p: Pod) => {
    const key = objectKey(p);
    if (inflight.has(key)) return;
    inflight.add(key);
    chain = chain
      .then(() => {
        inflight.delete(key);
        return sync(key);
      })
      .catch(() => {
        // The next event for this pod retries.
      });
  };
  pods.on({ add: kick, update: (_, p) => kick(p) });
  pods.start();
  await pods.waitForSync();

  return {
    pods,
    async setReady(namespace, name, ready) {
      const p = await client.get<Pod>(resources.pods, namespace, name);
      await writeStatus(p, ready, 'Running');
    },
    async stop() {
      clearInterval(heartbeat);
      await pods.stop();
      await chain;
    },
  };
}

/** Polling helper shared by the tests (test/helpers/wait.ts). */
export { waitFor } from './wait.js';

/** "kind ns/name" -> resourceVersion over the given resources, to tell whether anything was written. */
export async function objectVersions(client: Client, rts: import('../../src/client/resources.js').ResourceType[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rt of rts) for (const o of (await client.list(rt)).items) out[`${rt.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`] = o.metadata.resourceVersion ?? '';
  return out;
}
