// Fixtures of the flow unit tests: a raw kernel event and an enrichment
// context with two known pods and one service.
import { EVENT_TYPE, type RawFlowEvent } from '../../src/dataplane/maps/events.js';
import { InMemoryEndpointDirectory, InMemoryServiceDirectory } from '../../src/agent/flows/directory.js';
import type { EnrichContext } from '../../src/agent/flows/enrich.js';

export function rawEvent(over: Partial<RawFlowEvent> = {}): RawFlowEvent {
  return {
    tsNs: 1_000_000_000n, type: EVENT_TYPE.tcTranslate, dir: 'egress', proto: 6, tcpFlags: 0x02, reason: 0, ifindex: 7,
    revNatId: 3, backendId: 9, saddr: '10.200.0.10', daddr: '10.200.0.11', origDaddr: '10.96.0.10',
    sport: 40000, dport: 8080, origDport: 80, verdict: 0, cookie: 0n, srcIdentity: 0, dstIdentity: 0, ...over,
  };
}

export function context(): EnrichContext {
  const endpoints = new InMemoryEndpointDirectory();
  endpoints.set('10.200.0.10', { namespace: 'shop', pod: 'client-1', labels: { app: 'client', tier: 'fe' }, identity: 1000 });
  endpoints.set('10.200.0.11', { namespace: 'shop', pod: 'web-1', labels: { app: 'web' }, identity: 1001 });
  const services = new InMemoryServiceDirectory();
  services.set(3, { namespace: 'shop', name: 'web' }, 2);
  // 2026-01-01T00:00:00Z at monotonic 0.
  return { node: 'n1', endpoints, services, clockOffsetNs: BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n };
}
