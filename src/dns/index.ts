// Cluster DNS as `ebbflow server --cluster-dns ADDR` runs it: the zone is
// kept from Service and EndpointSlice informers, served on ADDR:53, and
// published as the selector-less Service kube-system/kube-dns (ClusterIP
// 10.96.0.10 by default) whose EndpointSlice points at ADDR, so pods reach
// it through the eBPF Service LB like any other Service.
import type { KubeObject } from '../api/meta.js';
import type { Client } from '../client/client.js';
import { createInformerFactory } from '../client/factory.js';
import { resources } from '../client/resources.js';
import { debounce } from '../agent/debounce.js';
import type { Logger } from '../log/logger.js';
import { startDnsServer, type DnsServerHandle } from './server.js';
import { Zone, type ZoneEndpoint, type ZoneService } from './zone.js';

export interface ClusterDnsConfig {
  client: Client;
  /** Address the server listens on (and the kube-dns endpoint). */
  address: string;
  port?: number;
  domain?: string;
  /** ClusterIP of kube-system/kube-dns (must be inside the service CIDR). */
  serviceIP: string;
  logger: Logger;
}

export interface ClusterDnsHandle {
  readonly server: DnsServerHandle;
  readonly zone: Zone;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface SvcObj extends KubeObject {
  spec?: { clusterIP?: string; type?: string; externalName?: string; ports?: { name?: string; port: number; protocol?: string }[] };
}
interface SliceObj extends KubeObject {
  endpoints?: { addresses: string[]; hostname?: string; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

export function zoneServices(items: readonly SvcObj[]): ZoneService[] {
  return items.map((s) => ({
    namespace: s.metadata.namespace ?? 'default', name: s.metadata.name!, clusterIP: s.spec?.clusterIP, type: s.spec?.type,
    externalName: s.spec?.externalName, ports: s.spec?.ports ?? [],
  }));
}

export function zoneEndpoints(items: readonly SliceObj[]): ZoneEndpoint[] {
  return items.flatMap((sl) => {
    const service = sl.metadata.labels?.['kubernetes.io/service-name'];
    if (!service) return [];
    const ports = (sl.ports ?? []).filter((p) => p.port !== undefined).map((p) => ({ name: p.name, port: p.port!, protocol: p.protocol }));
    return (sl.endpoints ?? []).flatMap((e) => e.addresses.map((ip) => ({
      namespace: sl.metadata.namespace ?? 'default', service, ip, hostname: e.hostname, ready: e.conditions?.ready !== false, ports,
    })));
  });
}

/** Creates or updates kube-system/kube-dns and its EndpointSlice. */
export async function ensureDnsService(client: Client, serviceIP: string, address: string, port: number): Promise<void> {
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS', 'kubernetes.io/cluster-service': 'true' };
  const ports = [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: port }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: port }];
  const upsert = async (rt: typeof resources.services, obj: KubeObject) => {
    try {
      await client.create(rt, 'kube-system', obj);
    } catch (err) {
      if ((err as { status?: number }).status !== 409) throw err;
      await client.patch(rt, 'kube-system', obj.metadata.name!, obj, 'merge');
    }
  };
  try {
    await client.create(resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
  } catch (err) {
    if ((err as { status?: number }).status !== 409) throw err;
  }
  await upsert(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system', labels }, spec: { clusterIP: serviceIP, ports } } as KubeObject);
  await upsert(resources.endpointslices, {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'kube-dns-ebbflow', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'ebbflow-cluster-dns' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: true, terminating: false } }],
    ports: ports.map((p) => ({ name: p.name, port, protocol: p.protocol })),
  } as KubeObject);
}

export async function startClusterDns(config: ClusterDnsConfig): Promise<ClusterDnsHandle> {
  const zone = new Zone(config.domain ?? 'cluster.local');
  const server = await startDnsServer(zone, config.address, config.port ?? 53, config.logger);
  const informers = createInformerFactory(config.client, { logger: config.logger });
  const services = informers.get<SvcObj>(resources.services);
  const slices = informers.get<SliceObj>(resources.endpointslices);
  const job = debounce(async () => {
    zone.load(zoneServices(services.store.list()), zoneEndpoints(slices.store.list()));
  }, 10, (err) => config.logger.error({ err: (err as Error).message }, 'dns zone update failed'));
  const kick = { add: () => job.request(), update: () => job.request(), delete: () => job.request() };
  const unsubs = [services.on(kick), slices.on(kick)];
  try {
    informers.start();
    await Promise.all([services.waitForSync(), slices.waitForSync()]);
    job.request();
    await job.idle();
    await ensureDnsService(config.client, config.serviceIP, config.address, server.port);
  } catch (err) {
    await server.close();
    informers.stop();
    throw err;
  }
  config.logger.info({ address: config.address, port: server.port, serviceIP: config.serviceIP }, 'cluster DNS serving');
  return {
    server,
    zone,
    idle: () => job.idle(),
    async stop() {
      for (const u of unsubs) u();
      job.stop();
      informers.stop();
      await server.close();
    },
  };
}
