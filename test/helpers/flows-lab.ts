// Shared setup of the flow integration tests: an LB lab with the flow
// observer, gRPC server and metrics on free loopback ports, endpoint and
// service directories filled for the lab's pods and services, and helpers
// that wait for flows instead of sleeping.
import { numberToIpv4 } from '../../src/dataplane/ip.js';
import { createLbLab, type LbLab } from '../../src/demo/lab.js';
import {
  connectObserver, InMemoryEndpointDirectory, InMemoryServiceDirectory, startFlows,
  type Flow, type FlowsConfig, type FlowsHandle, type ObserverClient,
} from '../../src/agent/flows/index.js';
import type { GetFlowsRequest, GetFlowsResponse } from '../../src/agent/flows/wire.js';

export const NAMESPACE = 'shop';
export const IDENTITY: Record<string, number> = { client: 1000, be1: 1001, be2: 1002, be3: 1003 };

export interface FlowLab {
  lab: LbLab;
  flows: FlowsHandle;
  endpoints: InMemoryEndpointDirectory;
  services: InMemoryServiceDirectory;
  grpc: ObserverClient;
  grpcAddress: string;
  metricsUrl: string;
  /** Names the lab's service ids after the table has written them (VIP -> name), with backends per frontend. */
  nameServices(byVip: Record<string, string>, backendsByName?: Record<string, number>): void;
  teardown(): Promise<void>;
}

export async function createFlowLab(prefix: string, opts: Partial<FlowsConfig> = {}, backends?: string[]): Promise<FlowLab> {
  const lab = await createLbLab({ prefix, backends });
  const endpoints = new InMemoryEndpointDirectory();
  const services = new InMemoryServiceDirectory();
  for (const p of lab.net.pods) {
    const role = p.name === 'client' ? 'client' : 'backend';
    endpoints.set(p.ip, { namespace: NAMESPACE, pod: p.name === 'client' ? 'client-7c9f' : `web-${p.name}`, labels: { app: role, pod: p.name }, identity: IDENTITY[p.name] ?? 0 });
  }
  let flows: FlowsHandle;
  try {
    flows = await startFlows({
      dataplane: lab.dp, endpoints, services, grpcAddress: '127.0.0.1:0', metricsAddress: '127.0.0.1:0',
      metrics: {
        conntrackEntries: () => lab.dp.conntrack.entries().length,
        conntrackSampleMs: 500,
        serviceCounts: () => {
          const st = lab.table.stats();
          return { services: st.services, backends: st.backends };
        },
      },
      ...opts,
    });
  } catch (err) {
    await lab.teardown();
    throw err;
  }
  const grpcAddress = flows.server?.address ?? '';
  const grpc = connectObserver(grpcAddress);
  return {
    lab, flows, endpoints, services, grpc, grpcAddress,
    metricsUrl: `http://${flows.metrics?.address}/metrics`,
    nameServices(byVip, backendsByName = {}) {
      for (const [id, rn] of lab.dp.lb.revNat.entries()) {
        const name = byVip[numberToIpv4(rn.address)];
        if (name) services.set(id, { namespace: NAMESPACE, name }, backendsByName[name] ?? 0);
      }
    },
    async teardown() {
      grpc.close();
      await flows.stop();
      await lab.teardown();
    },
  };
}

/** Flows in the ring matching `pred`, polling until at least `n` or the timeout. */
export async function waitForFlows(h: FlowsHandle, pred: (f: Flow) => boolean, n = 1, timeoutMs = 3000, fromSeq = 1): Promise<Flow[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ring = h.observer.ring;
    const out: Flow[] = [];
    for (let s = Math.max(fromSeq, ring.oldestSeq); s < ring.nextSeq; s++) {
      const f = ring.at(s)!;
      if (pred(f)) out.push(f);
    }
    if (out.length >= n || Date.now() > end) return out;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads a GetFlows stream to its end (or until `stopWhen` says so, then cancels). */
export async function readStream(
  client: ObserverClient, req: GetFlowsRequest, stopWhen?: (got: GetFlowsResponse[]) => boolean, timeoutMs = 5000,
): Promise<GetFlowsResponse[]> {
  const got: GetFlowsResponse[] = [];
  const call = client.getFlows(req);
  const timer = setTimeout(() => call.cancel(), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      call.on('data', (m: GetFlowsResponse) => {
        got.push(m);
        if (stopWhen?.(got)) {
          call.cancel();
          resolve();
        }
      });
      call.on('end', () => resolve());
      call.on('error', (e: Error & { code?: number }) => (e.code === 1 ? resolve() : reject(e))); // 1 = CANCELLED
    });
  } finally {
    clearTimeout(timer);
  }
  return got;
}

export const flowsOf = (msgs: GetFlowsResponse[]): Flow[] => msgs.flatMap((m) => ('flow' in m ? [m.flow] : []));
