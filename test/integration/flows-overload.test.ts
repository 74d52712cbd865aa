// Overload: events produced faster than they are consumed are counted at the
// stage that lost them (kernel ring full, addon queue full, a follower lapped
// by the agent ring), every emitted event is accounted for, and the agent
// keeps working afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, readCounter } from '../../src/dataplane/maps/metrics.js';
import { createLbLab, service, slice, BACKENDS, type LbLab } from '../../src/demo/lab.js';
import { connectObserver, startFlows, type FlowsHandle, type ObserverClient } from '../../src/agent/flows/index.js';
import type { GetFlowsResponse } from '../../src/agent/flows/wire.js';
import { udpBurst } from '../helpers/flows-burst.js';
import { readStream, flowsOf } from '../helpers/flows-lab.js';

const root = process.getuid?.() === 0;
if (!root) console.log('flows-overload: skipped, needs root for namespaces and BPF');

const VIP = '10.96.0.40';
const EMPTY = '10.96.0.41';
/** The kernel ring (4 MiB) holds 58,254 records of 64 bytes plus 8-byte headers. */
const MORE_THAN_KERNEL_RING = 62_000;

const blockEventLoop = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe.skipIf(!root)('flow event overload', () => {
  let lab: LbLab;
  let flows: FlowsHandle | undefined;
  let grpc: ObserverClient | undefined;
  const emitted = () => Number(readCounter(lab.dp.metrics, METRIC.sockNoBackend).packets);
  /** Every refused send emitted one event: it is a flow, or lost at exactly one stage. */
  async function settle(): Promise<void> {
    const end = Date.now() + 10_000;
    for (;;) {
      const l = flows!.observer.lost();
      if (flows!.observer.ring.written + l.kernel + l.addon + l.decode === emitted()) return;
      if (Date.now() > end) throw new Error(`unaccounted events: ${JSON.stringify({ emitted: emitted(), seen: flows!.observer.ring.written, ...l })}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    lab = await createLbLab({ prefix: 'ebft-fo' });
    await lab.table.fullSync([service('web', VIP), service('empty', EMPTY)], [slice('web', BACKENDS.map((b) => ({ ip: lab.ip(b) }))), slice('empty', [])]);
  }, 60_000);

  afterAll(async () => {
    grpc?.close();
    await flows?.stop();
    await lab?.teardown();
  });

  it('kernel ring full while no consumer runs, then addon queue full while the loop is blocked', async () => {
    const burst = await udpBurst(lab, EMPTY, 53, MORE_THAN_KERNEL_RING);
    expect(burst.refused).toBe(MORE_THAN_KERNEL_RING);
    const kernelLost = Number(readCounter(lab.dp.metrics, METRIC.eventsLost).packets);
    expect(kernelLost).toBeGreaterThan(0);
    expect(kernelLost).toBeLessThan(MORE_THAN_KERNEL_RING / 4);
    // One record per batch and a blocked loop: the addon's 64-batch queue overflows.
    flows = await startFlows({ dataplane: lab.dp, capacity: 64, maxBatch: 1, grpcAddress: '127.0.0.1:0', metricsAddress: '127.0.0.1:0' });
    blockEventLoop(700);
    await settle();
    const lost = flows.observer.lost();
    expect(lost.kernel).toBe(kernelLost);
    expect(lost.addon).toBeGreaterThan(0);
    expect(flows.observer.ring.written).toBeGreaterThan(0);
    expect(flows.observer.ring.size).toBe(64);
    grpc = connectObserver(flows.server!.address);
    const st = await grpc.serverStatus();
    expect(st.lost).toMatchObject({ kernel: kernelLost, addon: lost.addon });
    const text = await (await fetch(`http://${flows.metrics!.address}/metrics`)).text();
    expect(text).toContain(`ebbflow_lost_events_total{stage="kernel"} ${kernelLost}`);
    expect(text).toContain(`ebbflow_lost_events_total{stage="addon"} ${lost.addon}`);
  }, 30_000);

  it('a follower that stops reading is lapped by the ring and told how many flows it lost', async () => {
    const got: GetFlowsResponse[] = [];
    const call = grpc!.getFlows({ follow: true });
    call.on('data', (m: GetFlowsResponse) => got.push(m));
    call.on('error', () => {});
    await new Promise((r) => setTimeout(r, 100));
    call.pause();
    const seenBefore = flows!.observer.ring.written;
    await udpBurst(lab, EMPTY, 53, 20_000);
    await settle();
    // Far more than the ring (64) plus what HTTP/2 flow control lets through to a paused client.
    expect(flows!.observer.ring.written - seenBefore).toBeGreaterThan(400);
    call.resume();
    const end = Date.now() + 5000;
    const caughtUp = () => {
      const m = got[got.length - 1];
      const last = m && ('flow' in m ? m.flow.seq : m.lost.toSeq);
      return last === flows!.observer.ring.written;
    };
    while (!caughtUp() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    call.cancel();
    const notices = got.filter((m): m is Extract<GetFlowsResponse, { lost: unknown }> => 'lost' in m);
    expect(notices.length).toBeGreaterThan(0);
    const missed = notices.reduce((n, m) => n + m.lost.count, 0);
    expect(missed).toBeGreaterThan(0);
    // What it saw plus what it was told it lost is everything since it started.
    const seen = got.length - notices.length;
    expect(seen + missed).toBe(flows!.observer.ring.written - seenBefore);
    expect(flows!.observer.lost().follower).toBe(missed);
    const st = await grpc!.serverStatus();
    expect(st.lost.follower).toBe(missed);
    const text = await (await fetch(`http://${flows!.metrics!.address}/metrics`)).text();
    expect(text).toContain(`ebbflow_lost_events_total{stage="follower"} ${missed}`);
  });

  it('keeps working afterwards: new flows, status and metrics', async () => {
    const mark = flows!.observer.ring.nextSeq;
    expect((await lab.client('tcp', VIP, 80, 2, true)).ok).toBe(2);
    let got: ReturnType<typeof flowsOf> = [];
    const end = Date.now() + 3000;
    while (got.length < 2 && Date.now() < end) {
      got = flowsOf(await readStream(grpc!, { include: [{ type: ['trace:socket-translation'] }] })).filter((f) => f.seq >= mark);
      if (got.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(got).toHaveLength(2);
    expect(got.every((f) => f.translation?.vip === VIP)).toBe(true);
    const res = await fetch(`http://${flows!.metrics!.address}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('ebbflow_service_translations_total{path="socket"} 2');
  });
});
