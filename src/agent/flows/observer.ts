// The flow observer: drains the dataplane's events ring buffer on the
// addon's poll thread, decodes and enriches each batch on the loop thread
// and appends it to the flow ring. Keeps the lost counts of every stage.
import type { Logger } from '../../log/logger.js';
import type { Dataplane } from '../../dataplane/loader.js';
import { decodeFlowEvent } from '../../dataplane/maps/events.js';
import { METRIC, readCounter } from '../../dataplane/maps/metrics.js';
import { RingBuffer } from '../../dataplane/native.js';
import { InMemoryEndpointDirectory, InMemoryServiceDirectory, type EndpointDirectory, type ServiceDirectory } from './directory.js';
import { enrichEvent, monotonicOffsetNs, type UnsequencedFlow } from './enrich.js';
import { DEFAULT_RING_CAPACITY, FlowRing } from './ring.js';
import type { Flow, LostCounts } from './types.js';

export interface FlowObserverConfig {
  /** The node's loaded dataplane (only its events and metrics maps are used). */
  dataplane: Pick<Dataplane, 'node' | 'events' | 'metrics'>;
  /** Node name put on every flow; default the dataplane's. */
  node?: string;
  /** Flows kept in memory; default 16384. */
  capacity?: number;
  endpoints?: EndpointDirectory;
  services?: ServiceDirectory;
  /** Records per batch handed from the addon's thread (default the addon's, 4096). */
  maxBatch?: number;
  logger?: Logger;
}

/** Kernel counters the metrics read (summed over CPUs, since the maps were created). */
export interface KernelCounters {
  socketTranslations: number;
  tcTranslations: number;
  eventsLost: number;
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
  /** Calls `cb` with every new batch of flows (after they are in the ring). */
  onFlows(cb: (flows: readonly Flow[]) => void): () => void;
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
  const started = process.hrtime.bigint();
  const startTime = new Date().toISOString();
  let decodeLost = 0;
  let stopped = false;

  const onBatch = (records: Buffer[]): void => {
    if (stopped) return;
    const ctx = { node, endpoints, services, clockOffsetNs: monotonicOffsetNs() };
    const batch: UnsequencedFlow[] = [];
    for (const r of records) {
      let f: UnsequencedFlow | undefined;
      try {
        f = enrichEvent(decodeFlowEvent(r), ctx);
      } catch (err) {
        log?.debug({ err, bytes: r.length }, 'undecodable flow event');
      }
      if (f) batch.push(f);
      else decodeLost++;
    }
    const flows = ring.push(batch);
    if (flows.length === 0) return;
    for (const l of listeners) l(flows);
  };
  const rb = new RingBuffer(dp.events.fd, onBatch, config.maxBatch ? { maxBatch: config.maxBatch } : undefined);
  log?.info({ node, capacity: ring.capacity }, 'flow observer started');

  const kernelCounters = (): KernelCounters => ({
    socketTranslations: Number(readCounter(dp.metrics, METRIC.sockTranslate).packets),
    tcTranslations: Number(readCounter(dp.metrics, METRIC.tcTranslateNew).packets),
    eventsLost: Number(readCounter(dp.metrics, METRIC.eventsLost).packets),
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
    stop() {
      if (stopped) return;
      lost();
      stopped = true;
      rb.close();
      listeners.clear();
      log?.info({ node }, 'flow observer stopped');
    },
  };
}
