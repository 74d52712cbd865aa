// Flow filters, Hubble-like: within one filter every given field must match
// (AND); the values of one field are alternatives (OR). A query passes a flow
// that matches any include filter (or there are none) and no exclude filter.
import { parseIpv4 } from '../../dataplane/ip.js';
import type { Flow, FlowEndpoint } from './types.js';

export interface FlowFilter {
  /** Namespace of either side. */
  namespace?: string[];
  /** "[namespace/]pod-name-prefix" on either side; without a namespace any namespace matches. */
  pod?: string[];
  sourcePod?: string[];
  destinationPod?: string[];
  /** Label selectors ("k=v,k2!=v2,k3,!k4"), either side. */
  label?: string[];
  sourceLabel?: string[];
  destinationLabel?: string[];
  /** Security identity of either side. */
  identity?: number[];
  /** Address or CIDR, either side / source / destination. */
  ip?: string[];
  sourceIp?: string[];
  destinationIp?: string[];
  /** Port of either side (destination port is the backend's; a VIP port matches too). */
  port?: number[];
  sourcePort?: number[];
  destinationPort?: number[];
  /** TCP, UDP, ICMP, SCTP (any case). */
  protocol?: string[];
  /** FORWARDED, DROPPED, TRANSLATED, or a policy verdict (allowed, denied). */
  verdict?: string[];
  /** Drop reason names (no_backend, policy_denied, ...). */
  dropReason?: string[];
  direction?: string[];
  /** "[namespace/]name" of the service. */
  service?: string[];
  /** trace, drop, policy-verdict, translation, or type:subtype (trace:socket-translation). */
  type?: string[];
  node?: string[];
}

export const FILTER_FIELDS = [
  'namespace', 'pod', 'sourcePod', 'destinationPod', 'label', 'sourceLabel', 'destinationLabel', 'identity',
  'ip', 'sourceIp', 'destinationIp', 'port', 'sourcePort', 'destinationPort', 'protocol', 'verdict', 'dropReason',
  'direction', 'service', 'type', 'node',
] as const satisfies readonly (keyof FlowFilter)[];

export type FlowPredicate = (f: Flow) => boolean;

/** A filter that could not be understood; `field` names the offending field. */
export class FilterError extends Error {
  readonly code = 'EBF_FLOW_FILTER_INVALID';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

type Requirement = (labels: ReadonlySet<string>, keys: ReadonlySet<string>) => boolean;

/** Parses "k=v,k2!=v2,k3,!k4" into one AND of requirements. */
export function parseLabelSelector(sel: string, field = 'label'): Requirement[] {
  const reqs: Requirement[] = [];
  for (const raw of sel.split(',').map((s) => s.trim()).filter(Boolean)) {
    let m: RegExpMatchArray | null;
    if ((m = raw.match(/^([^!=\s]+)\s*!=\s*(.*)$/))) {
      const [k, v] = [m[1], m[2]];
      reqs.push((labels) => !labels.has(`${k}=${v}`));
    } else if ((m = raw.match(/^([^!=\s]+)\s*==?\s*(.*)$/))) {
      const kv = `${m[1]}=${m[2]}`;
      reqs.push((labels) => labels.has(kv));
    } else if ((m = raw.match(/^!\s*([^!=\s]+)$/))) {
      const k = m[1];
      reqs.push((_l, keys) => !keys.has(k));
    } else if (/^[^!=\s]+$/.test(raw)) {
      reqs.push((_l, keys) => keys.has(raw));
    } else {
      throw new FilterError(field, `bad label selector "${raw}"`);
    }
  }
  if (reqs.length === 0) throw new FilterError(field, 'empty label selector');
  return reqs;
}

function selectorMatcher(values: string[], field: string): (ep: FlowEndpoint | undefined) => boolean {
  const sels = values.map((v) => parseLabelSelector(v, field));
  return (ep) => {
    if (!ep) return false;
    const labels = new Set(ep.labels);
    const keys = new Set(ep.labels.map((l) => l.slice(0, l.indexOf('=') < 0 ? l.length : l.indexOf('='))));
    return sels.some((reqs) => reqs.every((r) => r(labels, keys)));
  };
}

function podMatcher(values: string[]): (ep: FlowEndpoint | undefined) => boolean {
  const pats = values.map((v) => {
    const i = v.indexOf('/');
    return i < 0 ? { ns: undefined, prefix: v } : { ns: v.slice(0, i), prefix: v.slice(i + 1) };
  });
  return (ep) => !!ep && pats.some((p) => (p.ns === undefined || p.ns === ep.namespace) && ep.pod.startsWith(p.prefix));
}

function ipMatcher(values: string[], field: string): (ip: string) => boolean {
  const nets = values.map((v) => {
    const [addr, len] = v.includes('/') ? v.split('/') : [v, '32'];
    const bits = Number(len);
    const a = parseIpv4(addr);
    if (a < 0) throw new FilterError(field, `bad IPv4 address "${v}"`);
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new FilterError(field, `bad prefix length in "${v}"`);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { net: (a & mask) >>> 0, mask };
  });
  return (ip) => {
    if (!ip) return false;
    const n = parseIpv4(ip);
    if (n < 0) return false;
    return nets.some((x) => ((n & x.mask) >>> 0) === x.net);
  };
}

function portList(values: number[], field: string): Set<number> {
  for (const p of values) if (!Number.isInteger(p) || p < 0 || p > 65535) throw new FilterError(field, `bad port ${p}`);
  return new Set(values);
}

const lower = (v: string[]) => new Set(v.map((x) => x.toLowerCase()));
const TYPES = new Set(['trace', 'drop', 'policy-verdict', 'translation', 'socket-translation', 'tc-translation']);

function typeMatcher(values: string[]): FlowPredicate {
  const checks = values.map((raw): FlowPredicate => {
    const v = raw.toLowerCase();
    const [t, sub] = v.includes(':') ? v.split(':', 2) : [v, undefined];
    if (!TYPES.has(t)) throw new FilterError('type', `unknown flow type "${raw}" (trace, drop, policy-verdict, translation)`);
    if (t === 'translation') return (f) => f.translation !== undefined;
    if (t === 'socket-translation' || t === 'tc-translation') return (f) => f.subtype === t;
    return (f) => f.type === t && (sub === undefined || f.subtype === sub);
  });
  return (f) => checks.some((c) => c(f));
}

function serviceMatcher(values: string[]): FlowPredicate {
  return (f) => !!f.service && values.some((v) => {
    const i = v.indexOf('/');
    return i < 0 ? f.service!.name === v : f.service!.namespace === v.slice(0, i) && f.service!.name === v.slice(i + 1);
  });
}

/** Compiles one filter into a predicate; throws FilterError on a malformed value. */
export function compileFilter(filter: FlowFilter): FlowPredicate {
  const preds: FlowPredicate[] = [];
  const has = <K extends keyof FlowFilter>(k: K): NonNullable<FlowFilter[K]> | undefined => {
    const v = filter[k];
    return Array.isArray(v) && v.length > 0 ? (v as NonNullable<FlowFilter[K]>) : undefined;
  };
  let v: string[] | number[] | undefined;
  if ((v = has('namespace'))) {
    const ns = new Set(v);
    preds.push((f) => (!!f.source && ns.has(f.source.namespace)) || (!!f.destination && ns.has(f.destination.namespace)));
  }
  if ((v = has('pod'))) {
    const m = podMatcher(v);
    preds.push((f) => m(f.source) || m(f.destination));
  }
  if ((v = has('sourcePod'))) {
    const m = podMatcher(v);
    preds.push((f) => m(f.source));
  }
  if ((v = has('destinationPod'))) {
    const m = podMatcher(v);
    preds.push((f) => m(f.destination));
  }
  if ((v = has('label'))) {
    const m = selectorMatcher(v, 'label');
    preds.push((f) => m(f.source) || m(f.destination));
  }
  if ((v = has('sourceLabel'))) {
    const m = selectorMatcher(v, 'sourceLabel');
    preds.push((f) => m(f.source));
  }
  if ((v = has('destinationLabel'))) {
    const m = selectorMatcher(v, 'destinationLabel');
    preds.push((f) => m(f.destination));
  }
  if ((v = has('identity'))) {
    const ids = new Set(v);
    const idOf = (raw: number, ep?: FlowEndpoint) => raw || ep?.identity || 0;
    preds.push((f) => ids.has(idOf(f.sourceIdentity, f.source)) || ids.has(idOf(f.destinationIdentity, f.destination)));
  }
  if ((v = has('ip'))) {
    const m = ipMatcher(v, 'ip');
    preds.push((f) => m(f.sourceIp) || m(f.destinationIp) || (!!f.translation && m(f.translation.vip)));
  }
  if ((v = has('sourceIp'))) {
    const m = ipMatcher(v, 'sourceIp');
    preds.push((f) => m(f.sourceIp));
  }
  if ((v = has('destinationIp'))) {
    const m = ipMatcher(v, 'destinationIp');
    preds.push((f) => m(f.destinationIp) || (!!f.translation && m(f.translation.vip)));
  }
  if ((v = has('port'))) {
    const ports = portList(v, 'port');
    preds.push((f) => ports.has(f.sourcePort) || ports.has(f.destinationPort) || (!!f.translation && ports.has(f.translation.vipPort)));
  }
  if ((v = has('sourcePort'))) {
    const ports = portList(v, 'sourcePort');
    preds.push((f) => ports.has(f.sourcePort));
  }
  if ((v = has('destinationPort'))) {
    const ports = portList(v, 'destinationPort');
    preds.push((f) => ports.has(f.destinationPort) || (!!f.translation && ports.has(f.translation.vipPort)));
  }
  if ((v = has('protocol'))) {
    const p = lower(v);
    preds.push((f) => p.has(f.protocol.toLowerCase()));
  }
  if ((v = has('verdict'))) {
    const vs = lower(v);
    preds.push((f) => vs.has(f.verdict.toLowerCase()) || (!!f.policy && vs.has(f.policy.verdict)));
  }
  if ((v = has('dropReason'))) {
    const rs = lower(v);
    preds.push((f) => !!f.dropReason && rs.has(f.dropReason));
  }
  if ((v = has('direction'))) {
    const ds = lower(v);
    for (const d of ds) if (d !== 'ingress' && d !== 'egress') throw new FilterError('direction', `"${d}" is not ingress or egress`);
    preds.push((f) => ds.has(f.direction));
  }
  if ((v = has('service'))) preds.push(serviceMatcher(v));
  if ((v = has('type'))) preds.push(typeMatcher(v));
  if ((v = has('node'))) {
    const ns = new Set(v);
    preds.push((f) => ns.has(f.node));
  }
  return (f) => preds.every((p) => p(f));
}

/** Include/exclude lists combined: any include (or none given) and no exclude. */
export function compileFilters(include: FlowFilter[] = [], exclude: FlowFilter[] = []): FlowPredicate {
  const inc = include.map(compileFilter);
  const exc = exclude.map(compileFilter);
  return (f) => (inc.length === 0 || inc.some((p) => p(f))) && !exc.some((p) => p(f));
}
