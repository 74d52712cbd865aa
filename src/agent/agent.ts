// The node network agent: loads the node's dataplane, serves the CNI plugin
// (IPAM, veths, endpoint registration and tc attach), keeps Services and
// NetworkPolicies from the API server in the BPF maps, and serves flows and
// metrics. Restart-safe: maps and attachments are pinned, IPAM is
// persisted, and endpoints found on start are registered again.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import { connect } from '../client/client.js';
import { createInformerFactory } from '../client/factory.js';
import { resources } from '../client/resources.js';
import { EndpointTable } from '../dataplane/endpoint-table.js';
import { ipv4ToNumber } from '../dataplane/ip.js';
import { loadDataplane, type Dataplane, type MapSizes } from '../dataplane/loader.js';
import { ServiceTable } from '../dataplane/service-table.js';
import { forComponent, type Logger } from '../log/logger.js';
import { installCni } from './cni-install.js';
import { clusterIdentities } from './identities.js';
import { POD_GATEWAY } from './cni-netlink.js';
import { cniDataplaneHooks } from './cni-endpoints.js';
import { startCniServer, type CniServerHandle } from './cni-server.js';
import { podDirectory, serviceDirectory } from './directories.js';
import { startFlows, type FlowsHandle } from './flows/index.js';
import type { TraceSampling } from './flows/sampling.js';
import { startPolicyWatch, type PolicyWatchHandle } from './policy-watch.js';
import { PolicySync, type LocalEndpoint } from './policy-sync.js';
import { startServiceSync, type ServiceSyncHandle } from './service-sync.js';
import { startNodeRoutes } from './node-routes.js';

export interface AgentConfig {
  node: string;
  kubeconfig: string;
  podCIDR: string;
  /** IPAM and other state; default /var/lib/ebbflow/agent/<node>. */
  stateDir?: string;
  pinRoot?: string;
  /** CNI plugin socket; default /run/ebbflow/<node>/cni.sock. */
  cniSocket?: string;
  /** Network namespace path the agent treats as the node's; null = its own. */
  hostNetns?: string | null;
  /** cgroup v2 directory holding the pods (socket-level LB attaches there). */
  podCgroup?: string;
  /** NodePort on the node's uplink: the device (in hostNetns) and this node's IP on it. */
  nodePort?: { device: string; nodeIP: string };
  /** Where to install the plugin and conflist (both or neither). */
  cniBinDir?: string;
  cniConfDir?: string;
  flowsAddress?: string | null;
  metricsAddress?: string | null;
  /** Trace event sampling per type (0 = off, 1 = every event, N = 1 in N); unset: every event. Drops are always emitted. */
  flowTraceSampling?: TraceSampling;
  mapSizes?: MapSizes;
  /** Install a route to every other node's pod CIDR via its InternalIP (native routing). */
  nodeRoutes?: boolean;
  logger: Logger;
}

export interface AgentHandle {
  readonly dataplane: Dataplane;
  readonly cni: CniServerHandle;
  readonly flows: FlowsHandle;
  /** Resolves when services and policies reflect every change seen so far. */
  idle(): Promise<void>;
  localEndpoints(): LocalEndpoint[];
  /** Stops the agent; the dataplane keeps forwarding with what is in the maps. */
  stop(): Promise<void>;
}

/** The node's own IPv4 addresses (in its namespace), loopback excluded. */
export async function localAddresses(netns: string | null): Promise<string[]> {
  const [cmd, args] = netns ? ['nsenter', [`--net=${netns}`, '--', 'ip', '-j', '-4', 'addr', 'show']] : ['ip', ['-j', '-4', 'addr', 'show']];
  const { stdout } = await promisify(execFile)(cmd, args, { timeout: 10_000 });
  const links = JSON.parse(stdout || '[]') as { addr_info?: { local?: string }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? '')).filter((a) => a && !a.startsWith('127.'));
}

export async function startAgent(config: AgentConfig): Promise<AgentHandle> {
  const log = forComponent(config.logger, 'agent');
  const stateDir = config.stateDir ?? `/var/lib/ebbflow/agent/${config.node}`;
  const cniSocket = config.cniSocket ?? `/run/ebbflow/${config.node}/cni.sock`;
  const hostNetns = config.hostNetns ?? null;
  const dataplane = await loadDataplane({ node: config.node, pinRoot: config.pinRoot, mapSizes: config.mapSizes });
  const stops: (() => Promise<void> | void)[] = [() => dataplane.close()];
  const stopAll = async () => {
    for (const s of stops.reverse()) await Promise.resolve(s()).catch((err: Error) => log.warn({ err: err.message }, 'stop step failed'));
  };
  try {
    if (config.podCgroup) dataplane.attachSocketLb(config.podCgroup);
    // Like the pods' tc programs, the uplink's stay attached when the agent stops.
    const nodePort = config.nodePort && { node: config.node, nodeIP: config.nodePort.nodeIP };
    if (config.nodePort) {
      await dataplane.attachNodePort({ ...(hostNetns ? { netns: hostNetns } : {}), ifname: config.nodePort.device, nodeIP: config.nodePort.nodeIP });
    }
    const serviceTable = ServiceTable.restore(dataplane.lb);
    const endpointTable = EndpointTable.restore({ endpoints: dataplane.endpoints, ipcache: dataplane.ipcache, policy: dataplane.policy });
    let policies: PolicyWatchHandle | undefined;
    // Endpoint ids are the pod IP's offset in the podCIDR: stable across restarts.
    const endpoints = cniDataplaneHooks({
      dataplane, hostNetns, podCIDR: config.podCIDR, onChange: () => policies?.kick(),
    });
    const cni = await startCniServer({
      socketPath: cniSocket, hostNetns, podCIDR: config.podCIDR, stateDir, logger: config.logger,
      onEndpointAdded: (ep) => endpoints.onEndpointAdded(ep),
      onEndpointRemoved: (ep) => endpoints.onEndpointRemoved(ep),
    });
    stops.push(() => cni.stop());
    await endpoints.restore(await cni.listEndpoints());
    if (config.cniBinDir && config.cniConfDir) {
      installCni({ binDir: config.cniBinDir, confDir: config.cniConfDir, agentSocket: cniSocket });
    }

    const apiClient = connect(config.kubeconfig);
    stops.push(() => apiClient.close());
    const informers = createInformerFactory(apiClient, { logger: config.logger });
    stops.push(() => informers.stop());
    const services: ServiceSyncHandle = await startServiceSync({ informers, table: serviceTable, logger: log, nodePort });
    stops.push(() => services.stop());
    policies = await startPolicyWatch({
      // The node's addresses and the pods' gateway (the source of the node's
      // own connections to pods, e.g. kubelet probes) are identity HOST.
      informers, sync: new PolicySync(endpointTable, await clusterIdentities(apiClient), [...new Set([...(await localAddresses(hostNetns)), POD_GATEWAY])]), localEndpoints: () => endpoints.local(), logger: log,
    });
    stops.push(() => policies!.stop());
    if (config.nodeRoutes) {
      const routes = await startNodeRoutes({ node: config.node, informers, netns: hostNetns, logger: log });
      stops.push(() => routes.stop());
    }
    const pods = informers.get<KubeObject>(resources.pods);
    const flows = await startFlows({
      dataplane,
      endpoints: podDirectory(pods, (ip) => dataplane.endpoints.get(ipv4ToNumber(ip))?.identity ?? 0),
      services: serviceDirectory(serviceTable),
      grpcAddress: config.flowsAddress === undefined ? undefined : config.flowsAddress,
      metricsAddress: config.metricsAddress === undefined ? undefined : config.metricsAddress,
      // Always written, so a restart without the flag turns full visibility back on.
      traceSampling: config.flowTraceSampling ?? {},
      metrics: { conntrackEntries: () => dataplane.conntrack.handle.dump().count },
      logger: config.logger,
    });
    stops.push(() => flows.stop());
    log.info({ node: config.node, pinDir: dataplane.pinDir, cniSocket, stateDir: join(stateDir) }, 'agent ready');
    return {
      dataplane,
      cni,
      flows,
      async idle() {
        await services.idle();
        await policies!.idle();
      },
      localEndpoints: () => endpoints.local(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
