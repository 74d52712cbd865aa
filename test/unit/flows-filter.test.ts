// Flow filters: every field, AND across fields, OR within one, include and
// exclude lists, label selectors, malformed values; and `ebbflow observe`
// flag parsing into the same filter.
import { describe, expect, it } from 'vitest';
import { EVENT_TYPE, POLICY_VERDICT } from '../../src/dataplane/maps/events.js';
import { enrichEvent } from '../../src/agent/flows/enrich.js';
import { compileFilter, compileFilters, FilterError, type FlowFilter } from '../../src/agent/flows/filter.js';
import type { Flow } from '../../src/agent/flows/types.js';
import { parseObserveArgs, timeArg } from '../../src/cli/observe.js';
import { ANSI_COLOUR, compactLine, formatRow, summaryText, tableRow } from '../../src/agent/flows/format.js';
import { context, rawEvent } from '../helpers/flows-fixtures.js';

const mk = (over = {}): Flow => ({ seq: 1, ...enrichEvent(rawEvent(over), context())! });
const tcXlate = mk();
const sockXlate = mk({ type: EVENT_TYPE.sockTranslate, saddr: '0.0.0.0', sport: 0, ifindex: 0, cookie: 5n });
const noBackend = mk({ type: EVENT_TYPE.drop, reason: -132, daddr: '10.96.0.10', dport: 80, proto: 17, tcpFlags: 0 });
const denied = mk({ type: EVENT_TYPE.drop, reason: -140, dir: 'ingress', verdict: POLICY_VERDICT.denied, revNatId: 0, srcIdentity: 1000, dstIdentity: 1001, origDaddr: '10.200.0.11', origDport: 8080 });
const allowed = mk({ type: EVENT_TYPE.policy, dir: 'ingress', verdict: POLICY_VERDICT.allowed, revNatId: 0, saddr: '10.200.0.99' });
const all = [tcXlate, sockXlate, noBackend, denied, allowed];
const names = new Map<Flow, string>([[tcXlate, 'tc'], [sockXlate, 'sock'], [noBackend, 'nobe'], [denied, 'denied'], [allowed, 'allowed']]);
const match = (f: FlowFilter) => all.filter(compileFilter(f)).map((x) => names.get(x));

describe('compileFilter', () => {
  it('types, subtypes and the translation alias', () => {
    expect(match({ type: ['drop'] })).toEqual(['nobe', 'denied']);
    expect(match({ type: ['trace'] })).toEqual(['tc', 'sock']);
    expect(match({ type: ['trace:socket-translation'] })).toEqual(['sock']);
    expect(match({ type: ['translation'] })).toEqual(['tc', 'sock']);
    expect(match({ type: ['policy-verdict', 'drop'] })).toEqual(['nobe', 'denied', 'allowed']);
  });

  it('namespaces, pods by prefix with or without namespace, source and destination sides', () => {
    expect(match({ namespace: ['shop'] })).toEqual(['tc', 'sock', 'nobe', 'denied', 'allowed']);
    expect(match({ namespace: ['other'] })).toEqual([]);
    expect(match({ pod: ['client'] })).toEqual(['tc', 'nobe', 'denied']);
    expect(match({ sourcePod: ['shop/client-'] })).toEqual(['tc', 'nobe', 'denied']);
    expect(match({ sourcePod: ['other/client'] })).toEqual([]);
    expect(match({ destinationPod: ['web'] })).toEqual(['tc', 'sock', 'denied', 'allowed']);
  });

  it('label selectors: equality, inequality, existence, absence, AND within a selector, OR across', () => {
    expect(match({ sourceLabel: ['app=client'] })).toEqual(['tc', 'nobe', 'denied']);
    expect(match({ sourceLabel: ['app=client,tier=fe'] })).toEqual(['tc', 'nobe', 'denied']);
    expect(match({ sourceLabel: ['app=client,tier=be'] })).toEqual([]);
    expect(match({ destinationLabel: ['app!=web'] })).toEqual([]);
    expect(match({ label: ['tier'] })).toEqual(['tc', 'nobe', 'denied']);
    expect(match({ destinationLabel: ['!tier'] })).toEqual(['tc', 'sock', 'denied', 'allowed']);
    expect(match({ label: ['app==nope', 'app=web'] })).toEqual(['tc', 'sock', 'denied', 'allowed']);
    expect(() => compileFilter({ label: ['=x'] })).toThrow(FilterError);
    expect(() => compileFilter({ label: [''] })).toThrow(/empty label selector/);
  });

  it('IPs and CIDRs on either side (a VIP matches through its translation), ports, protocol', () => {
    expect(match({ ip: ['10.96.0.10'] })).toEqual(['tc', 'sock', 'nobe']);
    expect(match({ sourceIp: ['10.200.0.0/24'] })).toEqual(['tc', 'nobe', 'denied', 'allowed']);
    expect(match({ sourceIp: ['10.200.0.10/32'] })).toEqual(['tc', 'nobe', 'denied']);
    expect(match({ destinationIp: ['10.200.0.11'] })).toEqual(['tc', 'sock', 'denied', 'allowed']);
    expect(match({ ip: ['0.0.0.0/0'] })).toHaveLength(5);
    expect(match({ port: [80] })).toEqual(['tc', 'sock', 'nobe']);
    expect(match({ destinationPort: [8080] })).toEqual(['tc', 'sock', 'denied', 'allowed']);
    expect(match({ sourcePort: [40000] })).toEqual(['tc', 'nobe', 'denied', 'allowed']);
    expect(match({ protocol: ['udp'] })).toEqual(['nobe']);
    expect(() => compileFilter({ ip: ['10.0.0.300'] })).toThrow(FilterError);
    expect(() => compileFilter({ ip: ['10.0.0.0/33'] })).toThrow(/prefix length/);
    expect(() => compileFilter({ port: [70000] })).toThrow(/bad port/);
  });

  it('verdicts (flow or policy), drop reasons, direction, service, identity, node', () => {
    expect(match({ verdict: ['dropped'] })).toEqual(['nobe', 'denied']);
    expect(match({ verdict: ['TRANSLATED'] })).toEqual(['tc', 'sock']);
    expect(match({ verdict: ['denied'] })).toEqual(['denied']);
    expect(match({ verdict: ['allowed'] })).toEqual(['allowed']);
    expect(match({ dropReason: ['policy_denied'] })).toEqual(['denied']);
    expect(match({ direction: ['ingress'] })).toEqual(['denied', 'allowed']);
    expect(() => compileFilter({ direction: ['up'] })).toThrow(FilterError);
    expect(match({ service: ['web'] })).toEqual(['tc', 'sock', 'nobe']);
    expect(match({ service: ['shop/web'] })).toEqual(['tc', 'sock', 'nobe']);
    expect(match({ service: ['other/web'] })).toEqual([]);
    expect(match({ identity: [1001] })).toEqual(['tc', 'sock', 'denied', 'allowed']);
    expect(match({ node: ['n1'] })).toHaveLength(5);
    expect(match({ node: ['n2'] })).toEqual([]);
  });

  it('fields AND, values OR; include lists OR, exclude wins; empty filter passes all', () => {
    expect(match({ type: ['drop'], protocol: ['tcp'] })).toEqual(['denied']);
    expect(match({})).toHaveLength(5);
    const p = compileFilters([{ type: ['drop'] }, { type: ['trace:tc-translation'] }], [{ dropReason: ['no_backend'] }]);
    expect(all.filter(p).map((x) => names.get(x))).toEqual(['tc', 'denied']);
    expect(all.filter(compileFilters()).length).toBe(5);
  });
});

describe('ebbflow observe flags', () => {
  it('turn into one include filter, with Hubble-like defaults', () => {
    const r = parseObserveArgs(['--from-pod', 'shop/client', '--to-pod', 'web', '--label', 'app=web', '--port', '80', '--protocol', 'tcp',
      '--verdict', 'DROPPED', '--drop-reason', 'no_backend', '--type', 'drop', '--service', 'shop/web', '--ip', '10.0.0.0/8', '-o', 'json']);
    expect(r).not.toBe('help');
    if (r === 'help') return;
    expect(r.servers).toBeUndefined(); // the local cluster's agents, else 127.0.0.1:4245
    const many = parseObserveArgs(['--server', '10.233.0.11:4245,10.233.0.12:4245', '--server', '127.0.0.1:1']);
    expect(many !== 'help' && many.servers).toEqual(['10.233.0.11:4245', '10.233.0.12:4245', '127.0.0.1:1']);
    expect(r.output).toBe('json');
    expect(r.request).toEqual({
      follow: false, last: 20,
      include: [{ sourcePod: ['shop/client'], destinationPod: ['web'], label: ['app=web'], port: [80], protocol: ['tcp'], verdict: ['DROPPED'],
        dropReason: ['no_backend'], type: ['drop'], service: ['shop/web'], ip: ['10.0.0.0/8'] }],
    });
    const f = parseObserveArgs(['-f', '--server', '127.0.0.1:1']);
    expect(f !== 'help' && f.request).toEqual({ follow: true, include: [] });
    const s = parseObserveArgs(['--since', '5m', '--until', '2026-01-01T00:00:00Z', '--last', '3'], Date.UTC(2026, 0, 1, 1));
    expect(s !== 'help' && s.request).toMatchObject({ since: '2026-01-01T00:55:00.000Z', until: '2026-01-01T00:00:00Z', last: 3 });
    expect(parseObserveArgs(['--help'])).toBe('help');
    expect(() => parseObserveArgs(['-o', 'yaml'])).toThrow(/table, json or compact/);
    expect(() => parseObserveArgs(['--port', 'x'])).toThrow(/not a non-negative integer/);
    expect(() => parseObserveArgs(['--bogus'])).toThrow();
    expect(timeArg('90s', 100_000)).toBe(new Date(10_000).toISOString());
  });

  it('table, compact and summary text name what happened', () => {
    const row = tableRow(tcXlate);
    expect(row.slice(1)).toEqual(['shop/client-1:40000', 'shop/web-1:8080', 'tc-translation', 'TRANSLATED', 'TCP Flags: SYN 10.96.0.10:80 (shop/web) -> 10.200.0.11:8080']);
    expect(tableRow(sockXlate)[1]).toBe('(unbound socket)');
    expect(summaryText(noBackend)).toBe('no_backend UDP to 10.96.0.10:80 (shop/web)');
    expect(summaryText(denied)).toContain('policy ingress denied');
    const coloured = formatRow(tableRow(denied), [20, 24, 20, 16, 10], ANSI_COLOUR);
    expect(coloured).toContain('\x1b[31mDROPPED\x1b[0m');
    expect(formatRow(tableRow(tcXlate), [20, 24, 20, 16, 10], ANSI_COLOUR)).toContain('\x1b[33mTRANSLATED\x1b[0m');
    expect(compactLine(denied)).toMatch(/shop\/client-1:40000 \(ID:1000\) -> shop\/web-1:8080 \(ID:1001\) drop DROPPED \(policy_denied TCP/);
  });
});
