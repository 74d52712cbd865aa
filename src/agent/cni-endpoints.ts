// Glue from the CNI server's endpoint hooks to the dataplane: attaches the
// tc programs on each new pod's host veth, detaches them on removal, and
// keeps the node's local endpoints (pod, IP, ifindex, endpoint id) that
// policy sync registers in the endpoint map. Endpoint ids are the pod IP's
// offset in the podCIDR: unique on the node, and stable across agent
// restarts with no state of their own (IPAM already persists the IP).
import type { Dataplane } from '../dataplane/loader.js';
import type { CniEndpoint } from './cni-server.js';
import { parseCidr } from './ipam.js';
import type { LocalEndpoint } from './policy-sync.js';

export interface CniDataplaneConfig {
  dataplane: Pick<Dataplane, 'attachEndpoint' | 'detachEndpoint'>;
  /** The namespace holding the host veths (the CNI server's hostNetns); null = the agent's own. */
  hostNetns: string | null;
  podCIDR: string;
  /** Called after every change with the full local endpoint list (e.g. to run policy sync). */
  onChange?: (local: LocalEndpoint[]) => Promise<void> | void;
}

export interface CniDataplaneHooks {
  onEndpointAdded(ep: CniEndpoint): Promise<void>;
  onEndpointRemoved(ep: CniEndpoint): Promise<void>;
  /** Endpoints on this node, sorted by pod. */
  local(): LocalEndpoint[];
  /** After an agent restart: re-attaches (idempotent) and re-adds what the CNI server lists. */
  restore(eps: readonly CniEndpoint[]): Promise<void>;
}

/** The endpoint id of a pod IP: its offset inside the podCIDR (1..size-2). */
export function endpointIdFor(podCIDR: string, ip: string): number {
  const { base, size } = parseCidr(podCIDR);
  const n = ip.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
  const off = n - base;
  if (off <= 0 || off >= size - 1) throw new RangeError(`${ip} is not a pod address of ${podCIDR}`);
  return off;
}

/** Hooks for startCniServer({ onEndpointAdded, onEndpointRemoved }). */
export function cniDataplaneHooks(config: CniDataplaneConfig): CniDataplaneHooks {
  const byKey = new Map<string, LocalEndpoint>();
  const key = (ep: CniEndpoint) => `${ep.containerId}/${ep.ifname}`;
  const target = (ep: CniEndpoint) => ({ ...(config.hostNetns ? { netns: config.hostNetns } : {}), ifname: ep.hostIfname });
  const local = () => [...byKey.values()].sort((a, b) => a.pod.localeCompare(b.pod));
  const toLocal = (ep: CniEndpoint, ifindex: number): LocalEndpoint => ({
    pod: `${ep.podNamespace ?? 'default'}/${ep.podName ?? ep.containerId}`,
    ip: ep.ip,
    ifindex,
    endpointId: endpointIdFor(config.podCIDR, ep.ip),
  });
  const add = async (ep: CniEndpoint) => {
    const { ifindex } = await config.dataplane.attachEndpoint(target(ep));
    byKey.set(key(ep), toLocal(ep, ifindex));
  };
  return {
    async onEndpointAdded(ep) {
      await add(ep);
      await config.onChange?.(local());
    },
    async onEndpointRemoved(ep) {
      byKey.delete(key(ep));
      await config.onChange?.(local());
      // The veth may already be gone (its netns was deleted): nothing left to detach then.
      if (ep.hostIfindex === 0) return;
      try {
        await config.dataplane.detachEndpoint(target(ep));
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'ENODEV' && code !== 'ENOENT') throw err;
      }
    },
    local,
    async restore(eps) {
      for (const ep of eps) await add(ep);
      await config.onChange?.(local());
    },
  };
}
