// Flow enrichment lookups backed by the agent's own state: pods from the
// pods informer (by IP), identities from the endpoint map, services from the
// service table's id -> Service mapping.
import type { KubeObject } from '../api/meta.js';
import type { Informer } from '../client/informer.js';
import type { ServiceTable } from '../dataplane/service-table.js';
import type { EndpointDirectory, EndpointRecord, ServiceDirectory, ServiceRecord } from './flows/directory.js';

interface PodLike extends KubeObject {
  status?: { podIP?: string; podIPs?: { ip: string }[] };
}

/** Pods by IP from an informer; rebuilt lazily when the informer changed. */
export function podDirectory(pods: Informer<KubeObject>, identityOf: (ip: string) => number): EndpointDirectory {
  let byIp: Map<string, PodLike> | undefined;
  pods.on({ add: () => (byIp = undefined), update: () => (byIp = undefined), delete: () => (byIp = undefined) });
  return {
    byIp(ip: string): EndpointRecord | undefined {
      if (!byIp) {
        byIp = new Map();
        for (const p of pods.store.list() as PodLike[]) {
          for (const a of p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : [])) byIp.set(a, p);
        }
      }
      const p = byIp.get(ip);
      if (!p) return undefined;
      return { namespace: p.metadata.namespace ?? 'default', pod: p.metadata.name ?? '', labels: p.metadata.labels ?? {}, identity: identityOf(ip) };
    },
  };
}

export function serviceDirectory(table: ServiceTable): ServiceDirectory {
  return {
    byId(id: number): ServiceRecord | undefined {
      const s = table.serviceOf(id);
      if (!s || !s.service) return undefined;
      const [namespace, name] = s.service.split('/');
      return { namespace: namespace!, name: name! };
    },
    counts() {
      const st = table.stats();
      return { services: st.services, backends: st.backends };
    },
  };
}
