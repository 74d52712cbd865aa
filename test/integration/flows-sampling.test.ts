// Trace sampling in the dataplane (ebf_events_cfg_v1, --flow-trace-sample):
// with traces off no translation flow arrives while drops still do; 1 in N
// emits some; every translation is either a flow or counted as sampled out,
// every drop is a flow, and the lost counters stay exact (zero here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, readCounter } from '../../src/dataplane/maps/metrics.js';
import { METRIC_EVENTS_SAMPLED_OUT } from '../../src/dataplane/maps/events.js';
import { service, slice, BACKENDS } from '../../src/demo/lab.js';
import { applyTraceSampling, readTraceSampling } from '../../src/agent/flows/sampling.js';
import { udpBurst } from '../helpers/flows-burst.js';
import { createFlowLab, type FlowLab } from '../helpers/flows-lab.js';

const root = process.getuid?.() === 0;
if (!root) console.log('flows-sampling: skipped, needs root for namespaces and BPF');

const VIP = '10.96.0.60';
const EMPTY = '10.96.0.61';

describe.skipIf(!root)('trace event sampling', () => {
  let fx: FlowLab;
  const counter = (i: number) => Number(readCounter(fx.lab.dp.metrics, i).packets);
  /** Kernel-side counts: translations on both paths, refusals, skipped and lost events. */
  const kernel = () => ({
    sock: counter(METRIC.sockTranslate), tc: counter(METRIC.tcTranslateNew), refused: counter(METRIC.sockNoBackend),
    sampledOut: counter(METRIC_EVENTS_SAMPLED_OUT), lost: counter(METRIC.eventsLost),
  });
  const flowsSince = (seq: number) => {
    const out = [];
    for (let s = seq; s < fx.flows.observer.ring.nextSeq; s++) out.push(fx.flows.observer.ring.at(s)!);
    return out;
  };
  /** Waits until the ring holds `n` flows from `seq` on (or the timeout), then a little longer for stragglers. */
  async function settle(seq: number, n: number): Promise<void> {
    const end = Date.now() + 5000;
    while (fx.flows.observer.ring.nextSeq - seq < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
  }

  beforeAll(async () => {
    fx = await createFlowLab('ebft-fs', { traceSampling: { socket: 0, tc: 0, policy: 0 } });
    await fx.lab.table.fullSync([service('web', VIP), service('empty', EMPTY)], [slice('web', BACKENDS.map((b) => ({ ip: fx.lab.ip(b) }))), slice('empty', [])]);
  }, 60_000);

  afterAll(async () => {
    await fx?.teardown();
  });

  it('traces off: connections are translated but no trace arrives; every drop does; nothing lost', async () => {
    expect(readTraceSampling(fx.lab.dp.eventsConfig)).toEqual({ socket: 0, tc: 0, policy: 0 });
    const k0 = kernel();
    const lost0 = fx.flows.observer.lost();
    const mark = fx.flows.observer.ring.nextSeq;
    expect((await fx.lab.client('tcp', VIP, 80, 20, true)).ok).toBe(20);
    expect((await fx.lab.client('tcp', VIP, 80, 5, false)).ok).toBe(5);
    const burst = await udpBurst(fx.lab, EMPTY, 53, 300);
    expect(burst.refused).toBe(300);
    await settle(mark, 300);
    const k1 = kernel();
    const got = flowsSince(mark);
    expect(k1.sock - k0.sock).toBe(20);
    expect(k1.tc - k0.tc).toBe(5);
    // Every translation was skipped, and counted as such.
    expect(k1.sampledOut - k0.sampledOut).toBe(25);
    expect(got.filter((f) => f.type === 'trace')).toEqual([]);
    const drops = got.filter((f) => f.type === 'drop');
    expect(drops).toHaveLength(300);
    expect(drops.every((f) => f.dropReason === 'no_backend')).toBe(true);
    expect(got).toHaveLength(300);
    expect(k1.lost - k0.lost).toBe(0);
    expect(fx.flows.observer.lost()).toEqual(lost0);
    expect(fx.flows.observer.kernelCounters().eventsSampledOut).toBe(k1.sampledOut);
  }, 30_000);

  it('1 in N: some traces arrive; translations = traces + sampled out, exactly', async () => {
    applyTraceSampling(fx.lab.dp.eventsConfig, { socket: 4 });
    const k0 = kernel();
    const mark = fx.flows.observer.ring.nextSeq;
    expect((await fx.lab.client('tcp', VIP, 80, 200, true)).ok).toBe(200);
    await settle(mark, 20);
    const k1 = kernel();
    const traces = flowsSince(mark).filter((f) => f.subtype === 'socket-translation');
    expect(k1.sock - k0.sock).toBe(200);
    expect(traces.length + (k1.sampledOut - k0.sampledOut)).toBe(200);
    // About 50 expected; far from none and far from all.
    expect(traces.length).toBeGreaterThan(15);
    expect(traces.length).toBeLessThan(110);
    expect(traces.every((f) => f.translation?.vip === VIP)).toBe(true);
    expect(k1.lost - k0.lost).toBe(0);
  }, 30_000);

  it('back to every event: each connect is one trace again', async () => {
    applyTraceSampling(fx.lab.dp.eventsConfig, {});
    const k0 = kernel();
    const mark = fx.flows.observer.ring.nextSeq;
    expect((await fx.lab.client('tcp', VIP, 80, 10, true)).ok).toBe(10);
    await settle(mark, 10);
    expect(flowsSince(mark).filter((f) => f.subtype === 'socket-translation')).toHaveLength(10);
    expect(kernel().sampledOut).toBe(k0.sampledOut);
  }, 30_000);
});
