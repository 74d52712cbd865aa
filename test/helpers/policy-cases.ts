// The upstream Kubernetes NetworkPolicy test model, as data: namespaces
// x, y, z, pods a, b, c in each serving TCP/UDP 80 and 81 on named ports,
// and a table of policy cases. Shared by the unit tests (reference model vs
// compiler) and, later, the dataplane tests (reference model vs packets).
import type { LabelSelector, Namespace, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec, Pod, Protocol } from '../../src/policy/types.js';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const PROBES: { proto: Protocol; port: number }[] = [
  { proto: 'TCP', port: 80 },
  { proto: 'TCP', port: 81 },
  { proto: 'UDP', port: 80 },
  { proto: 'UDP', port: 81 },
];
/** Addresses that are not pods, probed to and from every pod. */
export const EXTERNAL_IPS = ['192.168.7.7', '10.0.9.9', '10.0.1.200', '10.0.2.200', '10.0.3.100', '10.0.3.200'];

/** Pod IP convention: 10.0.<namespace index>.<pod index>, x=1 … and a=1 …. */
export function podIp(ns: string, pod: string): string {
  return `10.0.${NAMESPACES.indexOf(ns as 'x') + 1}.${POD_NAMES.indexOf(pod as 'a') + 1}`;
}

export function makeNamespace(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ns: name } } };
}

export function makePod(ns: string, name: string, labels: Record<string, string>, ip: string): Pod {
  const ports = [80, 81].flatMap((port) => (['TCP', 'UDP'] as const).map((protocol) => ({ port, protocol })));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: ns, name, labels },
    spec: {
      containers: ports.map(({ port, protocol }) => ({
        name: `cont-${port}-${protocol.toLowerCase()}`,
        ports: [{ name: `serve-${port}-${protocol.toLowerCase()}`, containerPort: port, protocol }],
      })),
    },
    status: { podIP: ip, podIPs: [{ ip }], phase: 'Running' },
  };
}

/** The 3 namespaces and 9 pods, in matrix order x/a, x/b, … z/c. */
export function baseCluster(): { namespaces: Namespace[]; pods: Pod[] } {
  return {
    namespaces: NAMESPACES.map(makeNamespace),
    pods: NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => makePod(ns, p, { pod: p }, podIp(ns, p)))),
  };
}

export interface PolicyCase {
  name: string;
  policies: NetworkPolicy[];
  /** Pods added to the base cluster for this case. */
  extraPods?: Pod[];
  /** A second step (update or delete): the whole policy set afterwards. */
  then?: NetworkPolicy[];
  /**
   * Hand-written outcome of `policies` from the Kubernetes docs, per probe
   * ("TCP/80"): 9 rows (from x/a … z/c) of 9 columns (to x/a … z/c), '.'
   * allowed, 'X' blocked, spaces ignored; pod-to-self always allowed.
   */
  expect?: Record<string, string[]>;
  /** Same, for `then`. */
  expectThen?: Record<string, string[]>;
}

// --- builders --------------------------------------------------------------
const all: LabelSelector = {};
const pod = (p: string): LabelSelector => ({ matchLabels: { pod: p } });
const ns = (n: string): LabelSelector => ({ matchLabels: { ns: n } });
function np(name: string, namespace: string, spec: NetworkPolicySpec): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}
function ingress(name: string, namespace: string, podSelector: LabelSelector, rules: NetworkPolicyIngressRule[]): NetworkPolicy {
  return np(name, namespace, { podSelector, policyTypes: ['Ingress'], ingress: rules });
}
function egress(name: string, namespace: string, podSelector: LabelSelector, rules: NetworkPolicyEgressRule[]): NetworkPolicy {
  return np(name, namespace, { podSelector, policyTypes: ['Egress'], egress: rules });
}
const from = (...peers: NetworkPolicyPeer[]): NetworkPolicyIngressRule => ({ from: peers });
const to = (...peers: NetworkPolicyPeer[]): NetworkPolicyEgressRule => ({ to: peers });
const denyIngress = (n: string) => ingress(`deny-ingress-${n}`, n, all, []);
const denyEgress = (n: string) => egress(`deny-egress-${n}`, n, all, []);

// --- hand-written matrices -------------------------------------------------
const OPEN = ['... ... ...', '... ... ...', '... ... ...', '... ... ...', '... ... ...', '... ... ...', '... ... ...', '... ... ...', '... ... ...'];
const X_INGRESS_DENIED = ['.XX ... ...', 'X.X ... ...', 'XX. ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...'];
const X_EGRESS_DENIED = ['.XX XXX XXX', 'X.X XXX XXX', 'XX. XXX XXX', '... ... ...', '... ... ...', '... ... ...', '... ... ...', '... ... ...', '... ... ...'];
/** Only column x/a restricted: rows allowed to reach x/a are listed. */
function intoXa(allowedRows: string[]): string[] {
  const order = NAMESPACES.flatMap((n) => POD_NAMES.map((p) => `${n}/${p}`));
  return order.map((row) => `${row === 'x/a' || allowedRows.includes(row) ? '.' : 'X'}.. ... ...`);
}
const every = (m: string[]) => Object.fromEntries(PROBES.map((p) => [`${p.proto}/${p.port}`, m]));
const onlyOn = (probe: string, m: string[]) => Object.fromEntries(PROBES.map((p) => [`${p.proto}/${p.port}`, `${p.proto}/${p.port}` === probe ? OPEN : m]));

export const POLICY_CASES: PolicyCase[] = [
  { name: 'no policies: everything open', policies: [], expect: every(OPEN) },
  { name: 'deny all ingress in x (policyTypes Ingress)', policies: [denyIngress('x')], expect: every(X_INGRESS_DENIED) },
  { name: 'deny all ingress in x (policyTypes defaulted, ingress: [])', policies: [np('d', 'x', { podSelector: all, ingress: [] })], expect: every(X_INGRESS_DENIED) },
  { name: 'deny all ingress in x (no ingress field at all)', policies: [np('d', 'x', { podSelector: all })] },
  { name: 'deny all egress in x', policies: [denyEgress('x')], expect: every(X_EGRESS_DENIED) },
  { name: 'deny all ingress and egress in x', policies: [np('d', 'x', { podSelector: all, policyTypes: ['Ingress', 'Egress'] })] },
  { name: 'allow all ingress in x (rule without from)', policies: [ingress('allow', 'x', all, [{}])], expect: every(OPEN) },
  // "If this field is empty or missing, this rule matches all sources."
  { name: 'rule with from: [] matches all sources', policies: [ingress('allow', 'x', all, [{ from: [] }])], expect: every(OPEN) },
  { name: 'allow all egress in x (rule without to)', policies: [egress('allow', 'x', all, [{}])] },
  { name: 'deny all + allow all ingress in x: union allows', policies: [denyIngress('x'), ingress('allow', 'x', all, [{}])], expect: every(OPEN) },
  { name: 'allow ingress from same namespace in x', policies: [ingress('same-ns', 'x', all, [from({ podSelector: all })])], expect: every(['... ... ...', '... ... ...', '... ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...', 'XXX ... ...']) },
  { name: 'x/a ingress from namespace y', policies: [ingress('from-y', 'x', pod('a'), [from({ namespaceSelector: ns('y') })])], expect: every(intoXa(['y/a', 'y/b', 'y/c'])) },
  { name: 'x/a ingress from all namespaces (namespaceSelector {})', policies: [ingress('from-all-ns', 'x', pod('a'), [from({ namespaceSelector: all })])], expect: every(OPEN) },
  { name: 'x/a ingress from y/b only (podSelector AND namespaceSelector in one peer)', policies: [ingress('and', 'x', pod('a'), [from({ namespaceSelector: ns('y'), podSelector: pod('b') })])], expect: every(intoXa(['y/b'])) },
  { name: 'x/a ingress from namespace y OR x/b (two peers)', policies: [ingress('or', 'x', pod('a'), [from({ namespaceSelector: ns('y') }, { podSelector: pod('b') })])], expect: every(intoXa(['x/b', 'y/a', 'y/b', 'y/c'])) },
  { name: 'x/a ingress from x/b (podSelector only = own namespace)', policies: [ingress('p', 'x', pod('a'), [from({ podSelector: pod('b') })])], expect: every(intoXa(['x/b'])) },
  { name: 'x/a ingress from pod a in every namespace', policies: [ingress('p', 'x', pod('a'), [from({ namespaceSelector: all, podSelector: pod('a') })])], expect: every(intoXa(['y/a', 'z/a'])) },
  { name: 'matchExpressions In on namespaces', policies: [ingress('in', 'x', pod('a'), [from({ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y', 'z'] }] } })])], expect: every(intoXa(['y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c'])) },
  { name: 'matchExpressions NotIn on namespaces', policies: [ingress('notin', 'x', pod('a'), [from({ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['y'] }] } })])], expect: every(intoXa(['x/b', 'x/c', 'z/a', 'z/b', 'z/c'])) },
  { name: 'matchExpressions Exists on pods', policies: [ingress('exists', 'x', pod('a'), [from({ podSelector: { matchExpressions: [{ key: 'pod', operator: 'Exists' }] } })])] },
  { name: 'matchExpressions DoesNotExist on namespaces selects none', policies: [ingress('dne', 'x', pod('a'), [from({ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'DoesNotExist' }] } })])], expect: every(intoXa([])) },
  { name: 'policy podSelector with matchExpressions (a, b in y isolated)', policies: [ingress('sel', 'y', { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'b'] }] }, [])] },
  { name: 'matchLabels and matchExpressions combined', policies: [ingress('both', 'x', pod('a'), [from({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' }, matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['c'] }] } })])], expect: every(intoXa(['z/a', 'z/b'])) },
  { name: 'two policies on x/a union their sources', policies: [ingress('p1', 'x', pod('a'), [from({ podSelector: pod('b') })]), ingress('p2', 'x', pod('a'), [from({ namespaceSelector: ns('z'), podSelector: pod('c') })])], expect: every(intoXa(['x/b', 'z/c'])) },
  { name: 'x/a ingress TCP 80 only', policies: [ingress('tcp80', 'x', pod('a'), [{ ports: [{ protocol: 'TCP', port: 80 }] }])], expect: onlyOn('TCP/80', intoXa([])) },
  { name: 'x/a ingress UDP 81 only', policies: [ingress('udp81', 'x', pod('a'), [{ ports: [{ protocol: 'UDP', port: 81 }] }])], expect: onlyOn('UDP/81', intoXa([])) },
  { name: 'port without protocol means TCP', policies: [ingress('p81', 'x', pod('a'), [{ ports: [{ port: 81 }] }])], expect: onlyOn('TCP/81', intoXa([])) },
  { name: 'protocol without port: all UDP ports', policies: [ingress('udp', 'x', all, [{ ports: [{ protocol: 'UDP' }] }])] },
  { name: 'numeric port given as a string', policies: [ingress('str', 'x', pod('a'), [{ ports: [{ protocol: 'TCP', port: '80' }] }])] },
  { name: 'named port serve-80-tcp on ingress', policies: [ingress('named', 'x', pod('a'), [{ ports: [{ port: 'serve-80-tcp' }] }])], expect: onlyOn('TCP/80', intoXa([])) },
  { name: 'named UDP port serve-81-udp on ingress', policies: [ingress('named', 'x', all, [{ ports: [{ protocol: 'UDP', port: 'serve-81-udp' }] }])] },
  { name: 'named port with the wrong protocol matches nothing', policies: [ingress('wrong', 'x', pod('a'), [{ ports: [{ protocol: 'UDP', port: 'serve-80-tcp' }] }])], expect: every(intoXa([])) },
  { name: 'unknown named port matches nothing', policies: [ingress('none', 'x', pod('a'), [{ ports: [{ port: 'no-such-port' }] }])] },
  { name: 'endPort range TCP 80-81', policies: [ingress('range', 'x', pod('a'), [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }])] },
  { name: 'endPort range TCP 81-9000 excludes 80', policies: [ingress('range', 'x', pod('a'), [{ ports: [{ protocol: 'TCP', port: 81, endPort: 9000 }] }])] },
  { name: 'several ports in one rule (TCP 80, UDP 81)', policies: [ingress('multi', 'x', all, [{ ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 81 }] }])] },
  { name: 'two rules: from y on TCP 80, from z on UDP 81', policies: [ingress('rules', 'x', pod('a'), [{ from: [{ namespaceSelector: ns('y') }], ports: [{ port: 80 }] }, { from: [{ namespaceSelector: ns('z') }], ports: [{ protocol: 'UDP', port: 81 }] }])] },
  { name: 'SCTP only: no TCP or UDP traffic', policies: [ingress('sctp', 'x', pod('a'), [{ ports: [{ protocol: 'SCTP', port: 80 }] }])], expect: every(intoXa([])) },
  { name: 'ipBlock 10.0.0.0/16 except namespace y', policies: [ingress('cidr', 'x', pod('a'), [from({ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.2.0/24'] } })])], expect: every(intoXa(['x/b', 'x/c', 'z/a', 'z/b', 'z/c'])) },
  { name: 'ipBlock single pod /32 (z/b)', policies: [ingress('cidr', 'x', all, [from({ ipBlock: { cidr: '10.0.3.2/32' } })])] },
  { name: 'ipBlock with /32 except holes', policies: [ingress('cidr', 'y', pod('b'), [from({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.1.1/32', '10.0.3.0/25'] } })])] },
  { name: 'ipBlock 0.0.0.0/0 except 10.0.1.0/24', policies: [ingress('world', 'y', all, [from({ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.1.0/24'] } })])] },
  { name: 'nested ipBlocks in two policies', policies: [ingress('wide', 'z', pod('c'), [from({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.2.0/24'] } })]), ingress('narrow', 'z', pod('c'), [from({ ipBlock: { cidr: '10.0.2.0/23', except: ['10.0.2.2/32'] } })])] },
  { name: 'egress from x to 10.0.1.0/24 only', policies: [egress('cidr', 'x', all, [to({ ipBlock: { cidr: '10.0.1.0/24' } })])] },
  { name: 'egress to 0.0.0.0/0 except namespace z', policies: [egress('cidr', 'x', pod('a'), [to({ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.3.0/24'] } })])] },
  { name: 'egress from x/a to y/a only', policies: [egress('to-ya', 'x', pod('a'), [to({ namespaceSelector: ns('y'), podSelector: pod('a') })])] },
  { name: 'egress from x to namespace z on TCP 80', policies: [egress('to-z', 'x', all, [{ to: [{ namespaceSelector: ns('z') }], ports: [{ protocol: 'TCP', port: 80 }] }])] },
  { name: 'egress named port serve-81-udp to anyone', policies: [egress('named', 'x', all, [{ ports: [{ protocol: 'UDP', port: 'serve-81-udp' }] }])] },
  { name: 'egress named port serve-80-tcp to namespace y', policies: [egress('named', 'x', pod('b'), [{ to: [{ namespaceSelector: ns('y') }], ports: [{ port: 'serve-80-tcp' }] }])] },
  { name: 'egress UDP 80 only from z', policies: [egress('udp', 'z', all, [{ ports: [{ protocol: 'UDP', port: 80 }] }])] },
  { name: 'egress named port to an ipBlock covering namespace y', policies: [egress('named-cidr', 'x', all, [{ to: [{ ipBlock: { cidr: '10.0.2.0/24' } }], ports: [{ protocol: 'UDP', port: 'serve-80-udp' }] }])] },
  { name: 'one policy with both directions and explicit policyTypes', policies: [np('both', 'z', { podSelector: pod('b'), policyTypes: ['Ingress', 'Egress'], ingress: [from({ namespaceSelector: ns('x') })], egress: [{ to: [{ podSelector: all }], ports: [{ protocol: 'TCP', port: 81 }] }] })] },
  { name: 'endPort range on UDP 79-80', policies: [egress('udp-range', 'y', pod('c'), [{ ports: [{ protocol: 'UDP', port: 79, endPort: 80 }] }])] },
  { name: 'policyTypes Egress only ignores ingress rules', policies: [np('e', 'x', { podSelector: all, policyTypes: ['Egress'], ingress: [from({ podSelector: pod('b') })], egress: [] })], expect: every(X_EGRESS_DENIED) },
  { name: 'policyTypes Ingress only ignores egress rules', policies: [np('i', 'x', { podSelector: pod('a'), policyTypes: ['Ingress'], ingress: [from({ podSelector: pod('b') })], egress: [] })], expect: every(intoXa(['x/b'])) },
  { name: 'egress rules imply policyTypes [Ingress, Egress]', policies: [np('ie', 'x', { podSelector: pod('a'), egress: [to({ namespaceSelector: ns('y') })] })] },
  { name: 'empty podSelector in every namespace: deny all ingress', policies: NAMESPACES.map(denyIngress) },
  { name: 'deny all egress everywhere, allow ingress everywhere', policies: [...NAMESPACES.map(denyEgress), ...NAMESPACES.map((n) => ingress('allow', n, all, [{}]))] },
  { name: 'ingress from y at x and egress to x at y', policies: [ingress('in', 'x', all, [from({ namespaceSelector: ns('y') })]), egress('out', 'y', all, [to({ namespaceSelector: ns('x') })])] },
  { name: 'an empty peer {} selects nothing', policies: [ingress('empty-peer', 'x', pod('a'), [from({})])] },
  {
    name: 'pods sharing labels share the identity and the outcome',
    extraPods: [makePod('x', 'a-twin', { pod: 'a' }, '10.0.1.4'), makePod('y', 'b-twin', { pod: 'b' }, '10.0.2.5')],
    policies: [ingress('twin', 'x', pod('a'), [{ from: [{ namespaceSelector: ns('y'), podSelector: pod('b') }], ports: [{ port: 'serve-80-tcp' }] }]), egress('twin-out', 'y', pod('b'), [to({ namespaceSelector: ns('x'), podSelector: pod('a') })])],
  },
  {
    name: 'update: allowed source changes from x/b to x/c',
    policies: [ingress('p', 'x', pod('a'), [from({ podSelector: pod('b') })])],
    then: [ingress('p', 'x', pod('a'), [from({ podSelector: pod('c') })])],
    expect: every(intoXa(['x/b'])),
    expectThen: every(intoXa(['x/c'])),
  },
  { name: 'delete: deny-all removed reopens x', policies: [denyIngress('x')], then: [], expect: every(X_INGRESS_DENIED), expectThen: every(OPEN) },
  { name: 'update: adding deny-all egress to an ingress policy', policies: [ingress('p', 'x', pod('a'), [{}])], then: [ingress('p', 'x', pod('a'), [{}]), denyEgress('x')], expectThen: every(X_EGRESS_DENIED) },
  { name: 'update: port changes from TCP 80 to a UDP range', policies: [ingress('p', 'x', all, [{ ports: [{ port: 80 }] }])], then: [ingress('p', 'x', all, [{ ports: [{ protocol: 'UDP', port: 80, endPort: 81 }] }])] },
  { name: 'update: ipBlock except hole added', policies: [egress('c', 'y', all, [to({ ipBlock: { cidr: '10.0.0.0/16' } })])], then: [egress('c', 'y', all, [to({ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.3.0/24', '10.0.1.2/32'] } })])] },
];
