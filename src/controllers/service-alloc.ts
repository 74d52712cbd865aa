// Service allocation as one object the API server can call at admission
// (before a Service is stored) or the service-ip controller calls after
// the fact: fills spec.clusterIP(s) and nodePorts, honouring requested
// values, and remembers what is taken.
import type { Service } from '../api/core.js';
import { clusterIPAllocator, DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, intToIp, ipToInt, RangeAllocator } from './ipalloc.js';

export interface ServiceAllocatorConfig {
  serviceCIDR?: string;
  nodePortRange?: [number, number];
}

export type AllocationResult = { ok: true; changed: boolean } | { ok: false; field: string; message: string };

export class ServiceAllocator {
  private readonly ips: ReturnType<typeof clusterIPAllocator>;
  private readonly ports: RangeAllocator;
  /** Service key -> what it holds, so a re-load or release frees the right things. */
  private readonly held = new Map<string, { ip?: number; ports: number[] }>();

  constructor(config: ServiceAllocatorConfig = {}) {
    this.ips = clusterIPAllocator(config.serviceCIDR ?? DEFAULT_SERVICE_CIDR);
    const [lo, hi] = config.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
    this.ports = new RangeAllocator(lo, hi);
  }

  /** Records what an existing Service holds (at start, or whenever it changes); frees what it no longer uses. */
  observe(svc: Service): void {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const h = this.held.get(key) ?? { ip: undefined as number | undefined, ports: [] as number[] };
    const ip = svc.spec.clusterIP && svc.spec.clusterIP !== 'None' ? ipToInt(svc.spec.clusterIP) : undefined;
    if (ip !== h.ip) {
      if (h.ip !== undefined) this.ips.release(h.ip);
      h.ip = ip !== undefined && this.ips.claim(ip) ? ip : undefined;
    }
    const ports = (svc.spec.ports ?? []).map((p) => p.nodePort).filter((p): p is number => !!p);
    for (const p of h.ports) if (!ports.includes(p)) this.ports.release(p);
    h.ports = h.ports.filter((p) => ports.includes(p));
    for (const p of ports) if (!h.ports.includes(p) && this.ports.claim(p)) h.ports.push(p);
    this.held.set(key, h);
  }

  /** Frees what a deleted Service held. */
  release(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const h = this.held.get(key);
    if (!h) return;
    if (h.ip !== undefined) this.ips.release(h.ip);
    for (const p of h.ports) this.ports.release(p);
    this.held.delete(key);
  }

  /** Fills in missing allocations on svc in place; requested values are checked and claimed. */
  allocate(svc: Service): AllocationResult {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const h = this.held.get(key) ?? { ports: [] };
    const spec = svc.spec;
    let changed = false;
    if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None') {
      if (spec.clusterIP) {
        const ip = ipToInt(spec.clusterIP);
        if (ip === undefined || !this.ips.contains(ip)) return { ok: false, field: 'spec.clusterIP', message: `Invalid value: "${spec.clusterIP}": provided IP is not in the valid range. The range of valid IPs is ${intToIp(this.ips.first - 1)}/${32 - Math.log2(this.ips.size + 2)}` };
        if (h.ip !== ip) {
          if (!this.ips.claim(ip)) return { ok: false, field: 'spec.clusterIP', message: `Invalid value: "${spec.clusterIP}": provided IP is already allocated` };
          h.ip = ip;
        }
      } else {
        const wellKnown = svc.metadata.namespace === 'default' && svc.metadata.name === 'kubernetes' ? ipToInt(this.ips.wellKnown.kubernetes) : svc.metadata.namespace === 'kube-system' && svc.metadata.name === 'kube-dns' ? ipToInt(this.ips.wellKnown.dns) : undefined;
        const ip = wellKnown !== undefined && this.ips.claim(wellKnown) ? wellKnown : this.ips.next();
        if (ip === undefined) return { ok: false, field: 'spec.clusterIP', message: 'Internal error: failed to allocate a serviceIP: range is full' };
        h.ip = ip;
        spec.clusterIP = intToIp(ip);
        spec.clusterIPs = [spec.clusterIP];
        changed = true;
      }
      if (!spec.clusterIPs?.length) {
        spec.clusterIPs = [spec.clusterIP!];
        changed = true;
      }
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      for (const [i, p] of (spec.ports ?? []).entries()) {
        if (p.nodePort) {
          if (h.ports.includes(p.nodePort)) continue;
          if (!this.ports.claim(p.nodePort)) return { ok: false, field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` };
          h.ports.push(p.nodePort);
          continue;
        }
        const n = this.ports.next();
        if (n === undefined) return { ok: false, field: `spec.ports[${i}].nodePort`, message: 'Internal error: failed to allocate a nodePort: range is full' };
        p.nodePort = n;
        h.ports.push(n);
        changed = true;
      }
    }
    this.held.set(key, h);
    return { ok: true, changed };
  }
}
