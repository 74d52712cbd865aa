// The default/kubernetes Service, its Endpoints and EndpointSlice, pointing at
// this API server (kube-apiserver maintains these itself): in-cluster clients
// find the API through them.
import type { KubeObject } from '../api/meta.js';
import type { Registry } from '../api/registry.js';
import { ApiError } from './errors.js';
import type { Objects, WriteOptions } from './objects.js';

export interface SelfServiceConfig {
  /** First address of the service CIDR, e.g. 10.96.0.1 for 10.96.0.0/12. */
  clusterIP: string;
  /** Address clients reach this server at. */
  address: string;
  port: number;
}

/** The first usable IPv4 address of a CIDR ("10.96.0.0/12" -> "10.96.0.1"). */
export function firstServiceIP(cidr: string): string {
  const m = cidr.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/);
  if (!m) throw new Error(`service CIDR ${cidr}: expected an IPv4 CIDR`);
  const bits = Number(m[5]);
  const base = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const ip = ((base & mask) >>> 0) + 1;
  return [24, 16, 8, 0].map((s) => (ip >>> s) & 255).join('.');
}

/** Creates or refreshes default/kubernetes and its endpoints. */
export async function ensureSelfService(objects: Objects, registry: Registry, cfg: SelfServiceConfig): Promise<void> {
  const opts: WriteOptions = { dryRun: false, fieldManager: 'ebbflow-apiserver', fieldValidation: 'Strict', warnings: [] };
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  const put = async (plural: string, group: string, version: string, obj: KubeObject) => {
    const info = registry.byPlural(group, version, plural)!;
    try {
      await objects.create(info, 'default', structuredClone(obj), opts);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      await objects.patch(info, 'default', obj.metadata.name ?? '', 'merge', obj, opts);
    }
  };
  const port = { name: 'https', port: cfg.port, protocol: 'TCP' };
  await put('services', '', 'v1', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', labels },
    spec: { type: 'ClusterIP', clusterIP: cfg.clusterIP, clusterIPs: [cfg.clusterIP], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: cfg.port }], sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
  });
  await put('endpoints', '', 'v1', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets: [{ addresses: [{ ip: cfg.address }], ports: [port] }] });
  await put('endpointslices', 'discovery.k8s.io', 'v1', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'ebbflow-apiserver' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [cfg.address], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [port],
  });
}
