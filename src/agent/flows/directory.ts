// Pluggable lookups the enricher uses: endpoints by IP and services by
// their dataplane service (rev-NAT) id. The in-memory versions are filled by
// callers (tests, the demo; later the agent's informers).

/** What the enricher needs to know about a local or remote endpoint. */
export interface EndpointRecord {
  namespace: string;
  pod: string;
  labels: Record<string, string>;
  identity: number;
}

export interface EndpointDirectory {
  byIp(ip: string): EndpointRecord | undefined;
}

export interface ServiceRecord {
  namespace: string;
  name: string;
}

export interface ServiceDirectory {
  /** By the dataplane's service id (rev_nat_id of an event). */
  byId(id: number): ServiceRecord | undefined;
  /** Number of services and backends, for the gauges (optional). */
  counts?(): { services: number; backends: number };
}

/** Endpoints keyed by IPv4 address; set/delete from whatever watches pods. */
export class InMemoryEndpointDirectory implements EndpointDirectory {
  readonly #byIp = new Map<string, EndpointRecord>();

  byIp(ip: string): EndpointRecord | undefined {
    return this.#byIp.get(ip);
  }
  set(ip: string, rec: EndpointRecord): void {
    this.#byIp.set(ip, { ...rec, labels: { ...rec.labels } });
  }
  delete(ip: string): boolean {
    return this.#byIp.delete(ip);
  }
  get size(): number {
    return this.#byIp.size;
  }
}

/** Services keyed by service id, with the backend count per id for gauges. */
export class InMemoryServiceDirectory implements ServiceDirectory {
  readonly #byId = new Map<number, ServiceRecord & { backends: number }>();

  byId(id: number): ServiceRecord | undefined {
    const r = this.#byId.get(id);
    return r && { namespace: r.namespace, name: r.name };
  }
  /** One frontend (service id) of a service; `backends` counts its active backends. */
  set(id: number, rec: ServiceRecord, backends = 0): void {
    this.#byId.set(id, { namespace: rec.namespace, name: rec.name, backends });
  }
  delete(id: number): boolean {
    return this.#byId.delete(id);
  }
  /** Distinct services (namespace/name) and the backends summed over their frontends. */
  counts(): { services: number; backends: number } {
    const names = new Set<string>();
    let backends = 0;
    for (const r of this.#byId.values()) {
      names.add(`${r.namespace}/${r.name}`);
      backends += r.backends;
    }
    return { services: names.size, backends };
  }
}
