// The Observer gRPC server (wire format in wire.ts): GetFlows streams history
// and, when following, new flows at the pace the client reads them; a stream
// the ring laps gets a "lost" message instead of an unbounded buffer.
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../log/logger.js';
import { FilterError, compileFilters } from './filter.js';
import type { FlowObserver } from './observer.js';
import { streamFlows, type FlowQuery } from './query.js';
import {
  isUndecodable, observerService, parseTimeBound, WIRE_VERSION,
  type GetFlowsRequest, type GetFlowsResponse, type ServerStatusRequest, type ServerStatusResponse, type UndecodableRequest,
} from './wire.js';

export const DEFAULT_FLOW_SERVER_ADDRESS = '127.0.0.1:4245';

export interface FlowServerConfig {
  observer: Pick<FlowObserver, 'ring' | 'status' | 'node'>;
  /** host:port to listen on; default 127.0.0.1:4245 (port 0 picks a free one). */
  address?: string;
  logger?: Logger;
}

export interface FlowServerHandle {
  /** The bound host:port. */
  readonly address: string;
  readonly port: number;
  /** Ends open streams and stops the server. */
  stop(): Promise<void>;
}

function toQuery(req: GetFlowsRequest): FlowQuery {
  const asList = (v: unknown, field: string) => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new FilterError(field, 'must be a list of filters');
    return v;
  };
  const q: FlowQuery = {
    include: asList(req.include, 'include'),
    exclude: asList(req.exclude, 'exclude'),
    last: req.last === undefined ? undefined : Number(req.last),
    follow: req.follow === true,
  };
  if (q.last !== undefined && (!Number.isInteger(q.last) || q.last < 0)) throw new FilterError('last', 'must be a non-negative integer');
  try {
    q.sinceNs = parseTimeBound(req.since, 'since');
    q.untilNs = parseTimeBound(req.until, 'until');
  } catch (err) {
    throw new FilterError('time', (err as Error).message);
  }
  compileFilters(q.include, q.exclude); // reject bad filters before streaming anything
  return q;
}

/** Starts the Observer gRPC service. */
export async function startFlowServer(config: FlowServerConfig): Promise<FlowServerHandle> {
  const { observer } = config;
  const log = config.logger;
  const server = new grpc.Server();
  const open = new Set<AbortController>();

  const getFlows = (call: grpc.ServerWritableStream<GetFlowsRequest | UndecodableRequest, GetFlowsResponse>): void => {
    const ac = new AbortController();
    open.add(ac);
    const abort = () => ac.abort();
    call.on('cancelled', abort);
    call.on('close', abort);
    const fail = (code: grpc.status, details: string) => call.emit('error', { code, details });
    void (async () => {
      try {
        const req = call.request;
        if (isUndecodable(req)) return fail(grpc.status.INVALID_ARGUMENT, req.undecodable);
        const q = toQuery(req);
        for await (const item of streamFlows(observer.ring, q, ac.signal)) {
          const msg: GetFlowsResponse = 'flow' in item
            ? { flow: item.flow, node: observer.node, time: item.flow.time }
            : { lost: { ...item.lost, stage: 'follower' }, node: observer.node, time: new Date().toISOString() };
          if (!call.write(msg) && !ac.signal.aborted) {
            // Wait for the client to read: the ring, not this stream, holds what comes meanwhile.
            await Promise.race([once(call, 'drain'), once(ac.signal, 'abort')]);
          }
        }
        if (!call.cancelled) call.end();
      } catch (err) {
        if (err instanceof FilterError) return fail(grpc.status.INVALID_ARGUMENT, err.message);
        log?.error({ err }, 'GetFlows failed');
        fail(grpc.status.INTERNAL, (err as Error).message);
      } finally {
        open.delete(ac);
      }
    })();
  };

  const serverStatus = (
    call: grpc.ServerUnaryCall<ServerStatusRequest | UndecodableRequest, ServerStatusResponse>,
    cb: grpc.sendUnaryData<ServerStatusResponse>,
  ): void => {
    if (isUndecodable(call.request)) return cb({ code: grpc.status.INVALID_ARGUMENT, details: call.request.undecodable });
    cb(null, { ...observer.status(), version: WIRE_VERSION });
  };

  server.addService(observerService, { GetFlows: getFlows, ServerStatus: serverStatus });
  const address = config.address ?? DEFAULT_FLOW_SERVER_ADDRESS;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = address.slice(0, address.lastIndexOf(':'));
  log?.info({ address: `${host}:${port}` }, 'flow server listening');
  let stopped = false;
  return {
    address: `${host}:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const ac of open) ac.abort();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
