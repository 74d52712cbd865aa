// Packet tests of the uplink NodePort programs through BPF_PROG_TEST_RUN on
// the real loaded object: table fixtures of {description, program, input,
// expected verdict, expected output}. Only cases decided before any FIB
// lookup (pass-through, refusal, Local drop) run here; translation needs
// real routes and is covered by lb-nodeport.test.ts.
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import { ipv4ToNumber } from '../../src/dataplane/ip.js';
import { readDropCounter } from '../../src/dataplane/maps/metrics.js';
import { ServiceTable } from '../../src/dataplane/service-table.js';
import { progTestRun } from '../../src/dataplane/native.js';
import { buildPacket, parsePacket, TCP_ACK, TCP_SYN, type PacketSpec, type ParsedPacket } from '../helpers/packet.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const DROP_NO_BACKEND = -132;
const DROP_NO_LOCAL_BACKEND = -141;

const root = process.getuid?.() === 0;
if (!root) console.log('bpf-host-packets: skipped, needs root for BPF');

const NODE = '10.239.9.2';
const CLIENT = '10.239.9.1';

interface Case {
  description: string;
  program: 'ebf_from_netdev' | 'ebf_to_netdev';
  input: PacketSpec;
  retval: number;
  /** The program must leave the frame byte for byte as it was. */
  untouched?: boolean;
  output?: Partial<ParsedPacket>;
  check?: (out: ParsedPacket, dp: Dataplane) => void;
}

const svc = (name: string, nodePort: number, local = false) => ({
  metadata: { name, namespace: 'pkt' },
  spec: {
    type: 'NodePort', clusterIP: `10.96.9.${nodePort % 100}`, externalTrafficPolicy: local ? 'Local' : 'Cluster',
    ports: [{ name: 't', port: 80, protocol: 'TCP', nodePort }],
  },
});
const slice = (name: string, eps: { ip: string; node: string }[]) => ({
  metadata: { name, namespace: 'pkt', labels: { 'kubernetes.io/service-name': name } },
  endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: true } })),
  ports: [{ name: 't', port: 8080, protocol: 'TCP' }],
});

let dropsBefore = 0n;
const cases: Case[] = [
  {
    description: 'traffic to the node outside the NodePort and SNAT ranges passes untouched',
    program: 'ebf_from_netdev',
    input: { proto: 'tcp', saddr: CLIENT, daddr: NODE, sport: 40000, dport: 22 },
    retval: TC_ACT_OK,
    untouched: true,
  },
  {
    description: 'a NodePort-range port on another address passes untouched',
    program: 'ebf_from_netdev',
    input: { proto: 'tcp', saddr: CLIENT, daddr: '10.239.9.3', sport: 40000, dport: 30080 },
    retval: TC_ACT_OK,
    untouched: true,
  },
  {
    description: 'a NodePort-range port no Service owns is left to the node',
    program: 'ebf_from_netdev',
    input: { proto: 'udp', saddr: CLIENT, daddr: NODE, sport: 40000, dport: 30500 },
    retval: TC_ACT_OK,
    untouched: true,
  },
  {
    description: 'a packet to a SNAT port without a NAT entry is left to the node',
    program: 'ebf_from_netdev',
    input: { proto: 'tcp', saddr: '10.240.2.10', daddr: NODE, sport: 8080, dport: 62000, flags: TCP_SYN | TCP_ACK },
    retval: TC_ACT_OK,
    untouched: true,
  },
  {
    description: 'a truncated TCP header on the uplink is the stack\'s business',
    program: 'ebf_from_netdev',
    input: { proto: 'tcp', saddr: CLIENT, daddr: NODE, sport: 40000, dport: 30080, truncate: 14 + 20 + 6 },
    retval: TC_ACT_OK,
    untouched: true,
  },
  {
    description: 'a SYN to a Cluster NodePort without backends becomes ICMP port unreachable from the node',
    program: 'ebf_from_netdev',
    input: { proto: 'tcp', saddr: CLIENT, daddr: NODE, sport: 43000, dport: 30099 },
    retval: TC_ACT_REDIRECT,
    output: { proto: 1, saddr: NODE, daddr: CLIENT, ipCsumOk: true },
    check: (o, dp) => {
      expect(o.icmp).toMatchObject({ type: 3, code: 3, csumOk: true, inner: { saddr: CLIENT, daddr: NODE, sport: 43000, dport: 30099 } });
      expect(readDropCounter(dp.metrics, DROP_NO_BACKEND).packets).toBeGreaterThanOrEqual(1n);
    },
  },
  {
    description: 'a SYN to a Local NodePort with no backend on this node is dropped and counted',
    program: 'ebf_from_netdev',
    input: { proto: 'tcp', saddr: CLIENT, daddr: NODE, sport: 43001, dport: 30091 },
    retval: TC_ACT_SHOT,
    check: (_o, dp) => expect(readDropCounter(dp.metrics, DROP_NO_LOCAL_BACKEND).packets - dropsBefore).toBe(1n),
  },
  {
    description: 'egress traffic that is no NodePort reply passes untouched',
    program: 'ebf_to_netdev',
    input: { proto: 'tcp', saddr: '10.240.1.10', daddr: CLIENT, sport: 8080, dport: 43002, flags: TCP_SYN | TCP_ACK },
    retval: TC_ACT_OK,
    untouched: true,
  },
];

describe.skipIf(!root)('uplink programs under BPF_PROG_TEST_RUN', () => {
  let dp: Dataplane;
  const pinRoot = `/sys/fs/bpf/ebbflow/test-hostpkt-${process.pid}`;

  beforeAll(async () => {
    dp = await loadDataplane({ node: 'pkt', pinRoot });
    dp.nodePortConfig.set(0, { nodeIP: ipv4ToNumber(NODE), portMin: 30000, portMax: 32767, snatMin: 61000, snatMax: 65535 });
    const table = ServiceTable.restore(dp.lb, { nodePort: { node: 'here', nodeIPs: [NODE] } });
    await table.fullSync(
      [svc('web', 30080), svc('empty', 30099), svc('elsewhere', 30091, true)],
      [slice('web', [{ ip: '10.240.1.10', node: 'here' }]), slice('empty', []), slice('elsewhere', [{ ip: '10.240.2.10', node: 'other' }])],
    );
    dropsBefore = readDropCounter(dp.metrics, DROP_NO_LOCAL_BACKEND).packets;
  });

  afterAll(() => {
    dp?.destroy();
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(c.description, () => {
      const input = buildPacket(c.input);
      const r = progTestRun(dp.programFd(c.program), { data: input });
      expect(r.retval).toBe(c.retval);
      if (c.untouched) expect(r.data.equals(input)).toBe(true);
      if (c.output) expect(parsePacket(r.data)).toMatchObject(c.output);
      c.check?.(parsePacket(r.data.length >= 34 ? r.data : Buffer.alloc(64)), dp);
    });
  }

  it('NodePort off (node IP 0) passes even a NodePort SYN untouched', () => {
    dp.nodePortConfig.set(0, { nodeIP: 0, portMin: 30000, portMax: 32767, snatMin: 61000, snatMax: 65535 });
    const input = buildPacket({ proto: 'tcp', saddr: CLIENT, daddr: NODE, sport: 43003, dport: 30099 });
    const r = progTestRun(dp.programFd('ebf_from_netdev'), { data: input });
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data.equals(input)).toBe(true);
  });
});
