// Packet tests of the tc programs through BPF_PROG_TEST_RUN on the real
// loaded objects: table fixtures of {description, program, input packet,
// expected verdict, expected output}, run in order because conntrack state
// carries from one case to the next.
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import { ServiceTable } from '../../src/dataplane/service-table.js';
import { readDropCounter } from '../../src/dataplane/maps/metrics.js';
import { progTestRun } from '../../src/dataplane/native.js';
import { buildPacket, parsePacket, TCP_ACK, TCP_SYN, type PacketSpec, type ParsedPacket } from '../helpers/packet.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const DROP_INVALID = -130;

const root = process.getuid?.() === 0;
if (!root) console.log('bpf-lxc-packets: skipped, needs root for BPF');

const CLIENT = '10.200.0.10';
const VIP = '10.96.1.1';
const EMPTY_VIP = '10.96.1.2';
const BE1 = '10.1.0.1';
const BE2 = '10.1.0.2';

interface Case {
  description: string;
  program: 'ebf_from_pod' | 'ebf_to_pod';
  input: PacketSpec;
  /** Map changes to make before the packet runs. */
  before?: (t: ServiceTable) => Promise<void>;
  retval: number;
  output?: Partial<ParsedPacket>;
  check?: (out: ParsedPacket, dp: Dataplane) => void;
}

const svc = (name: string, ip: string) => ({
  metadata: { name, namespace: 'pkt' },
  spec: { clusterIP: ip, ports: [{ name: 't', port: 80, protocol: 'TCP' }, { name: 'u', port: 53, protocol: 'UDP' }] },
});
const slice = (name: string, ips: string[], terminating: string[] = []) => ({
  metadata: { name, namespace: 'pkt', labels: { 'kubernetes.io/service-name': name } },
  endpoints: [
    ...ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ...terminating.map((ip) => ({ addresses: [ip], conditions: { ready: false, serving: true, terminating: true } })),
  ],
  ports: [{ name: 't', port: 8080, protocol: 'TCP' }, { name: 'u', port: 5353, protocol: 'UDP' }],
});

const cases: Case[] = [
  {
    description: 'TCP SYN to the VIP is sent to the only backend with valid checksums',
    program: 'ebf_from_pod',
    input: { proto: 'tcp', saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, flags: TCP_SYN },
    retval: TC_ACT_OK,
    output: { daddr: BE1, dport: 8080, saddr: CLIENT, sport: 40000, ipCsumOk: true, l4CsumOk: true },
    check: (_o, dp) => {
      const ct = dp.conntrack.entries();
      expect(ct.filter(([k]) => k.sport === 40000 || k.dport === 40000)).toHaveLength(2);
    },
  },
  {
    description: 'the reply from the backend gets the VIP back as its source',
    program: 'ebf_to_pod',
    input: { proto: 'tcp', saddr: BE1, daddr: CLIENT, sport: 8080, dport: 40000, flags: TCP_SYN | TCP_ACK },
    retval: TC_ACT_OK,
    output: { saddr: VIP, sport: 80, daddr: CLIENT, dport: 40000, ipCsumOk: true, l4CsumOk: true },
  },
  {
    description: 'an established flow stays on its terminating backend after the service switches to another one',
    program: 'ebf_from_pod',
    before: async (t) => {
      t.setEndpointSlice(slice('web', [BE2], [BE1]));
      await t.flush();
    },
    input: { proto: 'tcp', saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, flags: TCP_ACK },
    retval: TC_ACT_OK,
    output: { daddr: BE1, dport: 8080, l4CsumOk: true },
  },
  {
    description: 'a new flow after the switch goes to the new backend',
    program: 'ebf_from_pod',
    input: { proto: 'tcp', saddr: CLIENT, daddr: VIP, sport: 40001, dport: 80, flags: TCP_SYN },
    retval: TC_ACT_OK,
    output: { daddr: BE2, dport: 8080, ipCsumOk: true, l4CsumOk: true },
  },
  {
    description: 'UDP to the VIP is translated with a valid UDP checksum',
    program: 'ebf_from_pod',
    input: { proto: 'udp', saddr: CLIENT, daddr: VIP, sport: 41000, dport: 53 },
    retval: TC_ACT_OK,
    output: { daddr: BE2, dport: 5353, ipCsumOk: true, l4CsumOk: true },
  },
  {
    description: 'UDP without checksum keeps checksum 0',
    program: 'ebf_from_pod',
    input: { proto: 'udp', saddr: CLIENT, daddr: VIP, sport: 41001, dport: 53, zeroUdpCsum: true },
    retval: TC_ACT_OK,
    output: { daddr: BE2, dport: 5353, udpCsum: 0, ipCsumOk: true },
  },
  {
    description: 'the UDP reply is reverse translated',
    program: 'ebf_to_pod',
    input: { proto: 'udp', saddr: BE2, daddr: CLIENT, sport: 5353, dport: 41000 },
    retval: TC_ACT_OK,
    output: { saddr: VIP, sport: 53, ipCsumOk: true, l4CsumOk: true },
  },
  {
    description: 'traffic to a non-service address passes untouched',
    program: 'ebf_from_pod',
    input: { proto: 'tcp', saddr: CLIENT, daddr: BE1, sport: 42000, dport: 8080 },
    retval: TC_ACT_OK,
    output: { daddr: BE1, dport: 8080, ipCsumOk: true, l4CsumOk: true },
  },
  {
    description: 'TCP SYN to a service without backends becomes an ICMP port unreachable back to the client',
    program: 'ebf_from_pod',
    input: { proto: 'tcp', saddr: CLIENT, daddr: EMPTY_VIP, sport: 43000, dport: 80 },
    retval: TC_ACT_REDIRECT,
    output: { proto: 1, saddr: EMPTY_VIP, daddr: CLIENT, ipCsumOk: true, length: 70 },
    check: (o) => {
      expect(o.icmp).toMatchObject({ type: 3, code: 3, csumOk: true, inner: { saddr: CLIENT, daddr: EMPTY_VIP, sport: 43000, dport: 80 } });
    },
  },
  {
    description: 'a truncated TCP header is dropped and counted as invalid',
    program: 'ebf_from_pod',
    input: { proto: 'tcp', saddr: CLIENT, daddr: VIP, sport: 44000, dport: 80, truncate: 14 + 20 + 6 },
    retval: TC_ACT_SHOT,
    check: (_o, dp) => expect(readDropCounter(dp.metrics, DROP_INVALID).packets).toBeGreaterThanOrEqual(1n),
  },
  {
    description: 'a flow whose backend was deleted entirely is moved to a live backend',
    program: 'ebf_from_pod',
    before: async (t) => {
      t.setEndpointSlice(slice('web', [BE2]));
      await t.flush(); // BE1 is no longer referenced anywhere: its backend entry is gone
    },
    input: { proto: 'tcp', saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, flags: TCP_ACK },
    retval: TC_ACT_OK,
    output: { daddr: BE2, dport: 8080, l4CsumOk: true },
  },
];

describe.skipIf(!root)('tc programs under BPF_PROG_TEST_RUN', () => {
  let dp: Dataplane;
  let table: ServiceTable;
  const pinRoot = `/sys/fs/bpf/ebbflow/test-pkt-${process.pid}`;

  beforeAll(async () => {
    dp = await loadDataplane({ node: 'pkt', pinRoot });
    table = ServiceTable.restore(dp.lb);
    await table.fullSync([svc('web', VIP), svc('empty', EMPTY_VIP)], [slice('web', [BE1]), slice('empty', [])]);
  });

  afterAll(() => {
    dp?.destroy();
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(c.description, async () => {
      if (c.before) await c.before(table);
      const r = progTestRun(dp.programFd(c.program), { data: buildPacket(c.input) });
      expect(r.retval).toBe(c.retval);
      if (c.output) expect(parsePacket(r.data)).toMatchObject(c.output);
      c.check?.(parsePacket(r.data.length >= 34 ? r.data : Buffer.alloc(64)), dp);
    });
  }
});
