// The ebbflow column of the LB benchmark: the real dataplane loaded into the
// bench's node, tc programs on the client's and backend's veths, socket LB
// on a cgroup the client runs in, Services programmed by the service table.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import type { EndpointSliceShape, ServiceShape } from '../../src/dataplane/lb-model.js';
import { ServiceTable } from '../../src/dataplane/service-table.js';
import { CGROUP2_ROOT, createCgroup, netnsPath, removeCgroup } from '../../src/netns/index.js';
import type { BenchService, LbBenchContext, LbMode } from './types.js';

/** Largest service count the bench asks for, with headroom; sizes the maps. */
const MAX_SERVICES = 32_768;
const MAX_BACKENDS_PER_SERVICE = 10;

export function toKubernetes(services: readonly BenchService[]): { services: ServiceShape[]; slices: EndpointSliceShape[] } {
  return {
    services: services.map((s) => ({
      metadata: { name: s.name, namespace: s.namespace },
      spec: { clusterIP: s.clusterIP, ports: [{ name: s.portName, port: s.port, protocol: 'TCP' }] },
    })),
    slices: services.map((s) => ({
      metadata: { name: `${s.name}-1`, namespace: s.namespace, labels: { 'kubernetes.io/service-name': s.name } },
      addressType: 'IPv4',
      endpoints: s.endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: true } })),
      ports: [{ name: s.portName, port: s.endpoints[0]?.port ?? s.port, protocol: 'TCP' }],
    })),
  };
}

export async function createEbbflowLbMode(ctx: LbBenchContext): Promise<LbMode> {
  const id = randomBytes(3).toString('hex');
  const pinRoot = `/sys/fs/bpf/ebbflow/bench-${id}`;
  const cgroup = join(CGROUP2_ROOT, `ebbflow-bench-${id}`);
  await createCgroup(cgroup);
  let dataplane: Dataplane;
  try {
    dataplane = await loadDataplane({
      node: 'bench',
      pinRoot,
      mapSizes: { services: MAX_SERVICES * (MAX_BACKENDS_PER_SERVICE + 1), revNat: MAX_SERVICES * 2, affinity: 65536 },
    });
  } catch (err) {
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
    await removeCgroup(cgroup);
    throw err;
  }
  const endpoints = [ctx.client, ctx.backend].map((pod) => ({ netns: netnsPath(ctx.nodeNs), ifname: pod.hostIf }));
  // Hooks are on the data path only while this mode is measured: the other
  // modes must neither pay for ebbflow's programs nor be translated by them.
  let attached = false;
  const attach = async () => {
    if (attached) return;
    for (const ep of endpoints) await dataplane.attachEndpoint(ep);
    dataplane.attachSocketLb(cgroup);
    attached = true;
  };
  const detach = async () => {
    if (!attached) return;
    for (const ep of endpoints) await dataplane.detachEndpoint(ep);
    dataplane.detachSocketLb(cgroup);
    attached = false;
  };
  const table = ServiceTable.restore(dataplane.lb);
  return {
    name: 'ebbflow',
    clientCgroup: cgroup,
    async program(services) {
      if (services.length > MAX_SERVICES) throw new RangeError(`ebbflow bench mode sized for ${MAX_SERVICES} services`);
      const t0 = process.hrtime.bigint();
      const k = toKubernetes(services);
      await table.fullSync(k.services, k.slices);
      return { programMs: Number(process.hrtime.bigint() - t0) / 1e6 };
    },
    suspend: detach,
    resume: attach,
    async teardown() {
      await detach().catch(() => undefined);
      dataplane.destroy();
      if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
      await removeCgroup(cgroup);
    },
  };
}
