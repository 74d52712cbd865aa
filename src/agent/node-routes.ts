// Native routing between nodes (like flannel's host-gw or Cilium's
// auto-direct-node-routes): for every other Node with a pod CIDR and an
// InternalIP on a directly connected subnet, a route "podCIDR via nodeIP"
// in the node's network namespace. Our routes carry their own protocol
// number so they are found again after a restart, and stale ones (a node
// that left, a CIDR that moved) are removed. Off unless asked for: on a
// real host this edits the host's routing table.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import type { InformerFactory } from '../client/factory.js';
import { resources } from '../client/resources.js';
import type { Logger } from '../log/logger.js';
import { debounce } from './debounce.js';

const run = promisify(execFile);

/** rtnetlink protocol number tagging the routes this agent owns (unassigned in /etc/iproute2/rt_protos). */
export const ROUTE_PROTO = 235;

export interface NodeRoute {
  /** Destination pod CIDR. */
  dst: string;
  /** The other node's InternalIP. */
  via: string;
}

interface NodeLike {
  metadata: { name?: string };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}

const IPV4_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/** The routes this node needs: one per other node's IPv4 pod CIDR, via its InternalIP. */
export function desiredRoutes(self: string, nodes: readonly NodeLike[]): NodeRoute[] {
  const out = new Map<string, NodeRoute>();
  for (const n of nodes) {
    if (n.metadata.name === self) continue;
    const via = n.status?.addresses?.find((a) => a.type === 'InternalIP' && IPV4.test(a.address))?.address;
    if (!via) continue;
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    for (const dst of cidrs) if (IPV4_CIDR.test(dst)) out.set(dst, { dst, via });
  }
  return [...out.values()].sort((a, b) => a.dst.localeCompare(b.dst));
}

/** What to change to go from `current` to `desired` (routes are keyed by destination). */
export function diffRoutes(current: readonly NodeRoute[], desired: readonly NodeRoute[]): { replace: NodeRoute[]; remove: NodeRoute[] } {
  const have = new Map(current.map((r) => [r.dst, r.via]));
  const want = new Set(desired.map((r) => r.dst));
  return {
    replace: desired.filter((r) => have.get(r.dst) !== r.via),
    remove: current.filter((r) => !want.has(r.dst)),
  };
}

/** Runs `ip` in the agent's namespace, or inside `netns` (a namespace path) through nsenter. */
async function ip(netns: string | null, args: string[]): Promise<string> {
  const [cmd, argv] = netns ? ['nsenter', [`--net=${netns}`, '--', 'ip', ...args]] : ['ip', args];
  const { stdout } = await run(cmd, argv, { timeout: 10_000 });
  return stdout;
}

/** The routes we installed earlier (found by their protocol tag). */
export async function listOwnRoutes(netns: string | null): Promise<NodeRoute[]> {
  const rows = JSON.parse((await ip(netns, ['-j', '-4', 'route', 'show', 'proto', String(ROUTE_PROTO)])) || '[]') as { dst: string; gateway?: string }[];
  return rows.filter((r) => r.gateway).map((r) => ({ dst: r.dst.includes('/') ? r.dst : `${r.dst}/32`, via: r.gateway! }));
}

export interface NodeRoutesConfig {
  node: string;
  informers: InformerFactory;
  /** Namespace path the routes go into; null = the agent's own. */
  netns: string | null;
  logger: Logger;
}

export interface NodeRoutesHandle {
  idle(): Promise<void>;
  /** Stops watching; the routes stay (forwarding continues across a restart). */
  stop(): void;
}

/** Keeps routes to every other node's pod CIDR in place while the agent runs. */
export async function startNodeRoutes(config: NodeRoutesConfig): Promise<NodeRoutesHandle> {
  const nodes = config.informers.get<KubeObject>(resources.nodes);
  const job = debounce(async () => {
    const desired = desiredRoutes(config.node, nodes.store.list() as unknown as NodeLike[]);
    const { replace, remove } = diffRoutes(await listOwnRoutes(config.netns), desired);
    for (const r of replace) await ip(config.netns, ['route', 'replace', r.dst, 'via', r.via, 'proto', String(ROUTE_PROTO)]);
    for (const r of remove) await ip(config.netns, ['route', 'del', r.dst, 'proto', String(ROUTE_PROTO)]);
    if (replace.length || remove.length) config.logger.info({ replace, remove }, 'node routes updated');
  }, 20, (err) => config.logger.error({ err: (err as Error).message }, 'node route sync failed; will retry on the next change'));
  const kick = { add: () => job.request(), update: () => job.request(), delete: () => job.request() };
  const unsub = nodes.on(kick);
  config.informers.start();
  await nodes.waitForSync();
  job.request();
  await job.idle();
  return {
    idle: () => job.idle(),
    stop() {
      unsub();
      job.stop();
    },
  };
}
