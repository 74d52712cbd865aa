// Classification and enrichment of decoded kernel events into flows.
import { describe, expect, it } from 'vitest';
import { EVENT_TYPE, POLICY_VERDICT } from '../../src/dataplane/maps/events.js';
import { InMemoryServiceDirectory } from '../../src/agent/flows/directory.js';
import { enrichEvent, formatTimeNs, tcpFlagNames } from '../../src/agent/flows/enrich.js';
import { context, rawEvent } from '../helpers/flows-fixtures.js';

describe('enrichEvent', () => {
  it('a tc translation becomes a trace with both pods, the service, VIP -> backend and TCP flags', () => {
    const f = enrichEvent(rawEvent(), context())!;
    expect(f).toMatchObject({
      node: 'n1', type: 'trace', subtype: 'tc-translation', verdict: 'TRANSLATED', direction: 'egress', protocol: 'TCP',
      sourceIp: '10.200.0.10', sourcePort: 40000, destinationIp: '10.200.0.11', destinationPort: 8080,
      source: { namespace: 'shop', pod: 'client-1', labels: ['app=client', 'tier=fe'], identity: 1000 },
      destination: { pod: 'web-1', identity: 1001 }, service: { namespace: 'shop', name: 'web' }, serviceId: 3,
      translation: { path: 'tc', vip: '10.96.0.10', vipPort: 80, backend: '10.200.0.11', backendPort: 8080, backendId: 9 },
      tcpFlags: ['SYN'], time: '2026-01-01T00:00:01.000000000Z', timeNs: (BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n + 1_000_000_000n).toString(),
    });
    expect(f.dropReason).toBeUndefined();
  });

  it('a socket translation has no source address, no TCP flags and keeps the cookie', () => {
    const f = enrichEvent(rawEvent({ type: EVENT_TYPE.sockTranslate, saddr: '0.0.0.0', sport: 0, ifindex: 0, tcpFlags: 0, cookie: 12345678901234n }), context())!;
    expect(f).toMatchObject({ subtype: 'socket-translation', sourceIp: '', cookie: '12345678901234', translation: { path: 'socket' } });
    expect(f.source).toBeUndefined();
    expect(f.tcpFlags).toBeUndefined();
  });

  it('drops carry the reason name; policy drops the policy verdict; unknown reasons stay visible', () => {
    const noBackend = enrichEvent(rawEvent({ type: EVENT_TYPE.drop, reason: -132, daddr: '10.96.0.10', dport: 80 }), context())!;
    expect(noBackend).toMatchObject({ type: 'drop', verdict: 'DROPPED', dropReason: 'no_backend', dropReasonCode: -132, service: { name: 'web' } });
    expect(noBackend.policy).toBeUndefined();
    const denied = enrichEvent(rawEvent({ type: EVENT_TYPE.drop, reason: -140, dir: 'ingress', verdict: POLICY_VERDICT.denied, srcIdentity: 1000, dstIdentity: 1001, revNatId: 0 }), context())!;
    expect(denied).toMatchObject({ dropReason: 'policy_denied', policy: { verdict: 'denied', direction: 'ingress' }, sourceIdentity: 1000 });
    expect(denied.service).toBeUndefined();
    expect(enrichEvent(rawEvent({ type: EVENT_TYPE.drop, reason: -199 }), context())!.dropReason).toBe('unknown_199');
  });

  it('policy events are policy verdicts; directory identities fill in when the kernel has none', () => {
    const f = enrichEvent(rawEvent({ type: EVENT_TYPE.policy, dir: 'ingress', verdict: POLICY_VERDICT.allowed, revNatId: 0, srcIdentity: 0, dstIdentity: 1001 }), context())!;
    expect(f).toMatchObject({ type: 'policy-verdict', verdict: 'FORWARDED', policy: { verdict: 'allowed', direction: 'ingress' } });
    expect(f.source?.identity).toBe(1000);
    expect(f.sourceIdentity).toBe(0);
  });

  it('UDP has no TCP flags; unknown protocols and event types are named, not guessed', () => {
    expect(enrichEvent(rawEvent({ proto: 17, tcpFlags: 0 }), context())!.tcpFlags).toBeUndefined();
    expect(enrichEvent(rawEvent({ proto: 47 }), context())!.protocol).toBe('proto-47');
    expect(enrichEvent(rawEvent({ type: 99 }), context())).toBeUndefined();
  });

  it('names TCP flags and formats nanosecond times', () => {
    expect(tcpFlagNames(0x12)).toEqual(['SYN', 'ACK']);
    expect(tcpFlagNames(0x11)).toEqual(['FIN', 'ACK']);
    expect(tcpFlagNames(0x04)).toEqual(['RST']);
    expect(formatTimeNs(1_767_225_600_123_456_789n)).toBe('2026-01-01T00:00:00.123456789Z');
  });

  it('service directory counts distinct services and their backends', () => {
    const s = new InMemoryServiceDirectory();
    s.set(1, { namespace: 'a', name: 'x' }, 2);
    s.set(2, { namespace: 'a', name: 'x' }, 2);
    s.set(3, { namespace: 'b', name: 'x' }, 1);
    expect(s.counts()).toEqual({ services: 2, backends: 5 });
    s.delete(3);
    expect(s.byId(3)).toBeUndefined();
    expect(s.counts()).toEqual({ services: 1, backends: 4 });
  });
});
