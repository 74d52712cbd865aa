// The Observer gRPC service's wire format: messages are UTF-8 JSON documents
// (one per gRPC message, no .proto), so any gRPC client that can send raw
// bytes can talk to it.
//
//   service ebbflow.observer.Observer
//     rpc GetFlows(GetFlowsRequest) returns (stream GetFlowsResponse)
//     rpc ServerStatus(ServerStatusRequest) returns (ServerStatusResponse)
//
//   GetFlowsRequest  {"include"?: FlowFilter[], "exclude"?: FlowFilter[],
//                     "last"?: number, "since"?: string, "until"?: string,
//                     "follow"?: boolean}
//       since/until: RFC 3339 time or decimal Unix-epoch nanoseconds.
//       FlowFilter: the fields of src/agent/flows/filter.ts, each a list.
//   GetFlowsResponse {"flow": Flow, "node": string, "time": string}
//                  | {"lost": {"count", "fromSeq", "toSeq", "stage": "follower"},
//                     "node": string, "time": string}
//       Flow: src/agent/flows/types.ts; a "lost" message means the ring
//       overwrote that many flows before this stream read them.
//   ServerStatusRequest  {}
//   ServerStatusResponse {"node", "capacity", "numFlows", "seenFlows",
//                         "lost": {"kernel","addon","decode","follower"},
//                         "startTime", "uptimeNs", "version"}
//
// A request that is not valid JSON or has a bad filter fails with
// INVALID_ARGUMENT.
import type { FlowFilter } from './filter.js';
import type { ObserverStatus } from './observer.js';
import type { Flow } from './types.js';

export const SERVICE_NAME = 'ebbflow.observer.Observer';
export const WIRE_VERSION = 'ebbflow-observer-json/1';

export interface GetFlowsRequest {
  include?: FlowFilter[];
  exclude?: FlowFilter[];
  last?: number;
  since?: string;
  until?: string;
  follow?: boolean;
}

export interface LostNotice {
  count: number;
  fromSeq: number;
  toSeq: number;
  stage: 'follower';
}

export type GetFlowsResponse = { flow: Flow; node: string; time: string } | { lost: LostNotice; node: string; time: string };

export type ServerStatusRequest = Record<string, never>;
export type ServerStatusResponse = ObserverStatus & { version: string };

/** A request body that did not parse; the handler answers INVALID_ARGUMENT. */
export interface UndecodableRequest {
  undecodable: string;
}

const encode = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

function decodeRequest<T>(b: Buffer): T | UndecodableRequest {
  try {
    const v: unknown = b.length === 0 ? {} : JSON.parse(b.toString('utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { undecodable: 'request is not a JSON object' };
    return v as T;
  } catch (err) {
    return { undecodable: `request is not JSON: ${(err as Error).message}` };
  }
}
const decodeResponse = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;

export function isUndecodable(v: unknown): v is UndecodableRequest {
  return typeof v === 'object' && v !== null && 'undecodable' in v;
}

/** The service definition for grpc-js (server.addService and Client requests). */
export const observerService = {
  GetFlows: {
    path: `/${SERVICE_NAME}/GetFlows`,
    requestStream: false,
    responseStream: true,
    requestSerialize: encode,
    requestDeserialize: (b: Buffer) => decodeRequest<GetFlowsRequest>(b),
    responseSerialize: encode,
    responseDeserialize: (b: Buffer) => decodeResponse<GetFlowsResponse>(b),
  },
  ServerStatus: {
    path: `/${SERVICE_NAME}/ServerStatus`,
    requestStream: false,
    responseStream: false,
    requestSerialize: encode,
    requestDeserialize: (b: Buffer) => decodeRequest<ServerStatusRequest>(b),
    responseSerialize: encode,
    responseDeserialize: (b: Buffer) => decodeResponse<ServerStatusResponse>(b),
  },
} as const;

/** Parses an RFC 3339 time or decimal epoch nanoseconds; undefined if absent. */
export function parseTimeBound(v: string | undefined, field: string): bigint | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v)) return BigInt(v);
  const frac = v.match(/\.(\d+)/)?.[1] ?? '';
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new RangeError(`${field}: "${v}" is not an RFC 3339 time or epoch nanoseconds`);
  // Date.parse keeps milliseconds only: add back finer digits.
  const subMs = frac.length > 3 ? BigInt(frac.slice(3, 9).padEnd(6, '0')) : 0n;
  return BigInt(ms) * 1_000_000n + subMs;
}
