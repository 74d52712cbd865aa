// The cluster DNS zone, as the Kubernetes DNS specification defines it
// (what CoreDNS's kubernetes plugin answers), computed from Services and
// EndpointSlices:
//   <svc>.<ns>.svc.<domain>            A   ClusterIP, or every ready endpoint of a headless Service
//   <host>.<svc>.<ns>.svc.<domain>     A   a headless Service's endpoint with that hostname
//   _<port>._<proto>.<svc>.<ns>.svc.<domain>  SRV  per named port (target: the Service, or each endpoint)
//   <a-b-c-d>.<ns>.pod.<domain>        A   a.b.c.d (the spec's "pods insecure" form)
//   ExternalName Services answer CNAME.
// A known name asked for another type is NODATA; an unknown name inside the
// domain is NXDOMAIN; names outside it are refused (no upstream resolver here).

export interface ZoneService {
  namespace: string;
  name: string;
  /** "None" for headless. */
  clusterIP?: string;
  type?: string;
  externalName?: string;
  ports: { name?: string; port: number; protocol?: string }[];
}

export interface ZoneEndpoint {
  namespace: string;
  service: string;
  ip: string;
  hostname?: string;
  ready: boolean;
  ports: { name?: string; port: number; protocol?: string }[];
}

export type Answer =
  | { type: 'A'; name: string; data: string }
  | { type: 'SRV'; name: string; data: { priority: number; weight: number; port: number; target: string } }
  | { type: 'CNAME'; name: string; data: string };

export type Lookup =
  | { rcode: 'NOERROR'; answers: Answer[] }
  | { rcode: 'NXDOMAIN' }
  | { rcode: 'REFUSED' };

const IPV4_DASHED = /^(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$/;

export class Zone {
  private services = new Map<string, ZoneService>();
  private endpoints = new Map<string, ZoneEndpoint[]>();

  constructor(readonly domain = 'cluster.local') {}

  /** Replaces the zone's contents. */
  load(services: readonly ZoneService[], endpoints: readonly ZoneEndpoint[]): void {
    this.services = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
    const eps = new Map<string, ZoneEndpoint[]>();
    for (const e of endpoints) {
      const k = `${e.namespace}/${e.service}`;
      eps.set(k, [...(eps.get(k) ?? []), e]);
    }
    this.endpoints = eps;
  }

  /** Answers one question (name without a trailing dot, any case). */
  lookup(qname: string, qtype: string): Lookup {
    const name = qname.toLowerCase().replace(/\.$/, '');
    const suffix = `.${this.domain}`;
    if (name !== this.domain && !name.endsWith(suffix)) return { rcode: 'REFUSED' };
    const labels = name === this.domain ? [] : name.slice(0, -suffix.length).split('.');
    const kind = labels[labels.length - 1];
    if (kind === 'pod' && labels.length === 3) {
      const m = labels[0]!.match(IPV4_DASHED);
      if (!m || m.slice(1).some((o) => Number(o) > 255)) return { rcode: 'NXDOMAIN' };
      return this.only(qtype, [{ type: 'A', name, data: m.slice(1).join('.') }]);
    }
    if (kind !== 'svc') {
      // The domain itself and "pod.<domain>" exist (empty non-terminals); nothing else does.
      return labels.length === 0 || (labels.length === 1 && kind === 'pod') ? { rcode: 'NOERROR', answers: [] } : { rcode: 'NXDOMAIN' };
    }
    const rest = labels.slice(0, -1);
    if (rest.length <= 1) {
      // "svc.<domain>" and "<ns>.svc.<domain>" exist as empty non-terminals.
      return rest.length === 0 || this.hasNamespace(rest[0]!) ? { rcode: 'NOERROR', answers: [] } : { rcode: 'NXDOMAIN' };
    }
    const ns = rest[rest.length - 1]!;
    const svcName = rest[rest.length - 2]!;
    const svc = this.services.get(`${ns}/${svcName}`);
    if (!svc) return { rcode: 'NXDOMAIN' };
    const ready = (this.endpoints.get(`${ns}/${svcName}`) ?? []).filter((e) => e.ready);
    const svcFqdn = `${svcName}.${ns}.svc.${this.domain}`;
    const headless = svc.clusterIP === 'None' || (!svc.clusterIP && svc.type !== 'ExternalName');
    if (rest.length === 2) {
      if (svc.type === 'ExternalName' && svc.externalName) return { rcode: 'NOERROR', answers: [{ type: 'CNAME', name, data: svc.externalName.replace(/\.$/, '') }] };
      const a: Answer[] = headless ? ready.map((e) => ({ type: 'A', name, data: e.ip })) : [{ type: 'A', name, data: svc.clusterIP! }];
      return this.only(qtype, a);
    }
    if (rest.length === 3 && headless) {
      const host = rest[0]!;
      const hits = ready.filter((e) => (e.hostname ?? dashed(e.ip)) === host);
      return hits.length ? this.only(qtype, hits.map((e) => ({ type: 'A', name, data: e.ip }))) : { rcode: 'NXDOMAIN' };
    }
    if (rest.length === 4 && rest[0]!.startsWith('_') && rest[1]!.startsWith('_')) {
      const portName = rest[0]!.slice(1);
      const proto = rest[1]!.slice(1).toUpperCase();
      const port = svc.ports.find((p) => p.name === portName && (p.protocol ?? 'TCP') === proto);
      if (!port) return { rcode: 'NXDOMAIN' };
      const srv: Answer[] = headless
        ? ready.flatMap((e) => {
            const ep = e.ports.find((p) => p.name === portName && (p.protocol ?? 'TCP') === proto);
            return ep ? [{ type: 'SRV' as const, name, data: { priority: 0, weight: 100, port: ep.port, target: `${e.hostname ?? dashed(e.ip)}.${svcFqdn}` } }] : [];
          })
        : [{ type: 'SRV', name, data: { priority: 0, weight: 100, port: port.port, target: svcFqdn } }];
      return this.only(qtype, srv);
    }
    return { rcode: 'NXDOMAIN' };
  }

  private hasNamespace(ns: string): boolean {
    for (const s of this.services.values()) if (s.namespace === ns) return true;
    return false;
  }

  /** The answers of the asked type (ANY gets all); none of it is NODATA, not NXDOMAIN. */
  private only(qtype: string, answers: Answer[]): Lookup {
    return { rcode: 'NOERROR', answers: qtype === 'ANY' ? answers : answers.filter((a) => a.type === qtype) };
  }
}

function dashed(ip: string): string {
  return ip.replace(/\./g, '-');
}
