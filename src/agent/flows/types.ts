// The flow record the agent keeps, serves over gRPC and prints: one decoded
// and enriched kernel event. Plain JSON-friendly data (no bigint, no Buffer)
// so the same object is the wire format, the ring entry and `-o json` output.

/** Hubble-style event classes. */
export type FlowType = 'trace' | 'drop' | 'policy-verdict';

/** What the trace/verdict observed: a translation point for traces. */
export type FlowSubtype = 'socket-translation' | 'tc-translation' | 'policy' | 'drop';

/** What happened to the packet or connection. */
export type FlowVerdict = 'FORWARDED' | 'TRANSLATED' | 'DROPPED';

export type FlowDirection = 'ingress' | 'egress';

/** Policy outcome carried by policy events and policy drops. */
export type PolicyVerdict = 'allowed' | 'denied' | 'reply' | 'none';

export interface FlowEndpoint {
  /** Empty when the address is not a known endpoint. */
  namespace: string;
  pod: string;
  /** Labels as "k=v" strings, sorted. */
  labels: string[];
  /** Security identity (from the event, or the endpoint directory when the event has none). */
  identity: number;
}

export interface FlowService {
  namespace: string;
  name: string;
}

export interface Flow {
  /** Monotonic per agent, starts at 1; gaps never occur inside one agent. */
  seq: number;
  /** RFC 3339 wall-clock time with nanoseconds. */
  time: string;
  /** Nanoseconds since the Unix epoch, as a decimal string (JSON has no 64-bit ints). */
  timeNs: string;
  node: string;
  type: FlowType;
  subtype: FlowSubtype;
  verdict: FlowVerdict;
  direction: FlowDirection;
  /** "TCP", "UDP", "ICMP", "SCTP" or "proto-N". */
  protocol: string;
  /** "" when the kernel did not know it (socket path: the source is not bound yet). */
  sourceIp: string;
  sourcePort: number;
  /** After service translation (the backend) when there was one. */
  destinationIp: string;
  destinationPort: number;
  source?: FlowEndpoint;
  destination?: FlowEndpoint;
  /** Raw identities from the kernel (0 = unknown). */
  sourceIdentity: number;
  destinationIdentity: number;
  /** TCP flag names of the packet ("SYN", "ACK", ...); tc path only. */
  tcpFlags?: string[];
  /** Service the destination belonged to (by rev-NAT/service id). */
  service?: FlowService;
  /** Service id in the dataplane, 0 if none. */
  serviceId: number;
  /** VIP -> backend, for translation traces. */
  translation?: { path: 'socket' | 'tc'; vip: string; vipPort: number; backend: string; backendPort: number; backendId: number };
  /** Drop reason name from DROP_REASONS (or "unknown_<code>"), drops only. */
  dropReason?: string;
  dropReasonCode?: number;
  /** Policy verdict and the direction policy was enforced in. */
  policy?: { verdict: PolicyVerdict; direction: FlowDirection };
  /** Host-side interface index (tc) or 0 (socket). */
  ifindex: number;
  /** Socket cookie (socket path) as a decimal string, "0" otherwise. */
  cookie: string;
}

/** Events lost before they became flows, by stage, and flows a follower missed. */
export interface LostCounts {
  /** Kernel ring buffer full (METRIC.eventsLost, summed over CPUs; since the map was created). */
  kernel: number;
  /** The addon's queue to JS was full (RingBuffer.stats().droppedInAddon). */
  addon: number;
  /** Records that did not decode. */
  decode: number;
  /** Flows overwritten in the agent ring before a follower read them (summed over followers). */
  follower: number;
}

export const LOST_STAGES = ['kernel', 'addon', 'decode', 'follower'] as const satisfies readonly (keyof LostCounts)[];
