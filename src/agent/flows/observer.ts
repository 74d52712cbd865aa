// The flow observer: drains the dataplane's events ring buffer on the
// addon's poll thread and stores each batch in the flow ring on the loop
// thread (ingest.ts: raw records, looked up and counted; flows are built when
// read). Keeps the lost counts of every stage.
import type { Logger } from '../../log/logger.js';
import type { Dataplane } from '../../dataplane/loader.js';
import { METRIC_EVENTS_SAMPLED_OUT } from '../../dataplane/maps/events.js';
import { METRIC, readCounter } from '../../dataplane/maps/metrics.js';
import { RingBuffer } from '../../dataplane/native.js';
import { InMemoryEndpointDirectory, InMemoryServiceDirectory, type EndpointDirectory, type ServiceDirectory } from './directory.js';
import { monotonicOffsetNs } from './enrich.js';
import { ingestBatch, recordProblem } from './ingest.js';
import { DEFAULT_RING_CAPACITY, FlowRing } from './ring.js';
import { applyTraceSampling, type TraceSampling } from './sampling.js';
import type { FlowTally } from './tally.js';
import type { Flow, LostCounts } from './types.js';

export interface FlowObserverConfig {
  /** The node's loaded dataplane (only its events, events config and metrics maps are used). */
  dataplane: Pick<Dataplane, 'node' | 'events' | 'metrics'> & Partial<Pick<Dataplane, 'eventsConfig'>>;
  /** Trace event sampling written to the dataplane at start (unset types: every event); undefined leaves the map as it is. */
  traceSampling?: TraceSampling;
  /** Node name put on every flow; default the dataplane's. */
  node?: string;
  /** Flows kept in memory; default 16384. */
  capacity?: number;
  endpoints?: EndpointDirectory;
  services?: ServiceDirectory;
  /** Records per batch handed from the addon's thread (default the addon's, 4096). */
  maxBatch?: number;
  /** How long the addon's thread lets records accumulate after a wake-up, in µs (default the addon's, 10 ms); 0 = deliver at once. */
  batchWindowUs?: number;
  logger?: Logger;
}

/** Kernel counters the metrics read (summed over CPUs, since the maps were created). */
export interface KernelCounters {
  socketTranslations: number;
  tcTranslations: number;
  eventsLost: number;
  /** Trace events the dataplane skipped because of sampling (not lost: never emitted). */
  eventsSampledOut?: number;
}

export interface ObserverStatus {
  node: string;
  capacity: number;
  /** Flows in the ring now. */
  numFlows: number;
  /** Flows seen since start (== last sequence number). */
  seenFlows: number;
  lost: LostCounts;
  startTime: string;
  uptimeNs: string;
}

export interface FlowObserver {
  readonly node: string;
  readonly ring: FlowRing;
  readonly endpoints: EndpointDirectory;
  readonly services: ServiceDirectory;
  lost(): LostCounts;
  status(): ObserverStatus;
  kernelCounters(): KernelCounters;
  /** Calls `cb` with every new batch of flows (after they are in the ring); builds every flow, so prefer onTally for counting. */
  onFlows(cb: (flows: readonly Flow[]) => void): () => void;
  /** Calls `cb` with the label-set counts of every new batch (no flow objects built). */
  onTally(cb: (tally: FlowTally) => void): () => void;
  stop(): void;
}

/** Starts consuming the events ring buffer of a dataplane. */
export async function startFlowObserver(config: FlowObserverConfig): Promise<FlowObserver> {
  const dp = config.dataplane;
  const node = config.node ?? dp.node;
  const endpoints = config.endpoints ?? new InMemoryEndpointDirectory();
  const services = config.services ?? new InMemoryServiceDirectory();
  const ring = new FlowRing(config.capacity ?? DEFAULT_RING_CAPACITY);
  const log = config.logger;
  const listeners = new Set<(flows: readonly Flow[]) => void>();
  const tallyListeners = new Set<(tally: FlowTally) => void>();
  const started = process.hrtime.bigint();
  const startTime = new Date().toISOString();
  let decodeLost = 0;
  let stopped = false;

  const ctx = { node, endpoints, services };
  const onBatch = (records: Buffer[]): void => {
    if (stopped) return;
    const first = ring.nextSeq;
    const res = ingestBatch(ring, records, ctx, monotonicOffsetNs());
    if (res.refused > 0) {
      decodeLost += res.refused;
      if (log?.isLevelEnabled?.('debug')) {
        for (const r of records) {
          const why = recordProblem(r);
          if (why) log.debug({ bytes: r.length, why }, 'undecodable flow event');
        }
      }
    }
    if (res.stored === 0) return;
    if (tallyListeners.size > 0) {
      const t = res.tally.toFlowTally();
      for (const l of tallyListeners) l(t);
    }
    if (listeners.size > 0) {
      const flows: Flow[] = [];
      for (let s = Math.max(first, ring.oldestSeq); s < ring.nextSeq; s++) flows.push(ring.at(s)!);
      for (const l of listeners) l(flows);
    }
  };
  if (config.traceSampling) {
    if (!dp.eventsConfig) throw new Error('traceSampling needs the dataplane\'s eventsConfig map');
    applyTraceSampling(dp.eventsConfig, config.traceSampling);
  }
  // windowUs is read by the addon (native/src/ringbuf.cc); the binding's type names maxBatch only.
  const rbOpts: { maxBatch?: number; windowUs?: number } = {};
  if (config.maxBatch) rbOpts.maxBatch = config.maxBatch;
  if (config.batchWindowUs !== undefined) rbOpts.windowUs = config.batchWindowUs;
  const rb = new RingBuffer(dp.events.fd, onBatch, Object.keys(rbOpts).length > 0 ? rbOpts : undefined);
  log?.info({ node, capacity: ring.capacity, traceSampling: config.traceSampling }, 'flow observer started');

  const kernelCounters = (): KernelCounters => ({
    socketTranslations: Number(readCounter(dp.metrics, METRIC.sockTranslate).packets),
    tcTranslations: Number(readCounter(dp.metrics, METRIC.tcTranslateNew).packets),
    eventsLost: Number(readCounter(dp.metrics, METRIC.eventsLost).packets),
    eventsSampledOut: Number(readCounter(dp.metrics, METRIC_EVENTS_SAMPLED_OUT).packets),
  });
  const lost = (): LostCounts => ({
    kernel: stopped ? lastKernelLost : (lastKernelLost = kernelCounters().eventsLost),
    addon: rb.stats().droppedInAddon,
    decode: decodeLost,
    follower: ring.followerLost,
  });
  let lastKernelLost = 0;
  return {
    node,
    ring,
    endpoints,
    services,
    lost,
    status() {
      return {
        node,
        capacity: ring.capacity,
        numFlows: ring.size,
        seenFlows: ring.written,
        lost: lost(),
        startTime,
        uptimeNs: (process.hrtime.bigint() - started).toString(),
      };
    },
    kernelCounters,
    onFlows(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    onTally(cb) {
      tallyListeners.add(cb);
      return () => tallyListeners.delete(cb);
    },
    stop() {
      if (stopped) return;
      lost();
      stopped = true;
      rb.close();
      listeners.clear();
      tallyListeners.clear();
      log?.info({ node }, 'flow observer stopped');
    },
  };
}
