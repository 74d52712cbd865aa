// Flow observability end to end on real namespaces: traffic through the
// eBPF dataplane becomes enriched flows in the agent's ring, served by the
// Observer gRPC API and printed by `ebbflow observe` (run in-process).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointTable, type AllowRule } from '../../src/dataplane/endpoint-table.js';
import { service, slice, BACKENDS } from '../../src/demo/lab.js';
import type { Flow } from '../../src/agent/flows/index.js';
import { runObserve } from '../../src/cli/observe.js';
import { createFlowLab, flowsOf, IDENTITY, NAMESPACE, readStream, waitForFlows, type FlowLab } from '../helpers/flows-lab.js';

const root = process.getuid?.() === 0;
if (!root) console.log('flows-grpc: skipped, needs root for namespaces and BPF');

const VIP = '10.96.0.10';
const EMPTY = '10.96.0.13';

/** `ebbflow observe ARGS` as a separate process: exit code, stdout, stderr. */
function observeProcess(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const viteNode = new URL('../../node_modules/vite-node/vite-node.mjs', import.meta.url).pathname;
  const main = new URL('../helpers/flows-observe-main.ts', import.meta.url).pathname;
  const p = spawn(process.execPath, [viteNode, main, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code, out, err })));
}

async function observe(fx: FlowLab, args: string[], signal?: AbortSignal): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runObserve(['--server', fx.grpcAddress, ...args], {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s) },
    signal: signal ?? new AbortController().signal,
  });
  return { code, out, err };
}

describe.skipIf(!root)('flows through the Observer API', () => {
  let fx: FlowLab;
  let mark = 1;
  const since = () => fx.flows.observer.ring.nextSeq;

  beforeAll(async () => {
    fx = await createFlowLab('ebft-fl');
    const all = BACKENDS.map((b) => ({ ip: fx.lab.ip(b) }));
    await fx.lab.table.fullSync([service('web', VIP), service('empty', EMPTY)], [slice('web', all), slice('empty', [])]);
    fx.nameServices({ [VIP]: 'web', [EMPTY]: 'empty' });
  }, 60_000);

  afterAll(async () => {
    await fx?.teardown();
  });

  it('socket path: each TCP connect to the VIP is a socket translation to a named backend pod', async () => {
    mark = since();
    const r = await fx.lab.client('tcp', VIP, 80, 3, true);
    expect(r.ok).toBe(3);
    const got = await waitForFlows(fx.flows, (f) => f.subtype === 'socket-translation', 3, 3000, mark);
    expect(got).toHaveLength(3);
    for (const f of got) {
      expect(f).toMatchObject({
        type: 'trace', verdict: 'TRANSLATED', protocol: 'TCP', node: 'node', direction: 'egress',
        service: { namespace: NAMESPACE, name: 'web' }, destinationPort: 8080,
        translation: { path: 'socket', vip: VIP, vipPort: 80, backendPort: 8080 },
      });
      expect(f.destination?.namespace).toBe(NAMESPACE);
      expect(f.destination?.labels).toContain('app=backend');
      expect(f.translation!.backend).toBe(f.destinationIp);
      expect(f.cookie).not.toBe('0');
      expect(f.tcpFlags).toBeUndefined();
      expect(Math.abs(Date.parse(f.time) - Date.now())).toBeLessThan(10_000);
    }
    const seqs = got.map((f) => f.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('tc path: TCP and UDP to the VIP are tc translations with the client pod, ports and TCP flags', async () => {
    mark = since();
    expect((await fx.lab.client('tcp', VIP, 80, 2, false)).ok).toBe(2);
    expect((await fx.lab.client('udp', VIP, 53, 2, false)).ok).toBe(2);
    const tcp = await waitForFlows(fx.flows, (f) => f.subtype === 'tc-translation' && f.protocol === 'TCP', 2, 3000, mark);
    const udp = await waitForFlows(fx.flows, (f) => f.subtype === 'tc-translation' && f.protocol === 'UDP', 2, 3000, mark);
    expect(tcp).toHaveLength(2);
    expect(udp).toHaveLength(2);
    for (const f of [...tcp, ...udp]) {
      expect(f).toMatchObject({
        type: 'trace', verdict: 'TRANSLATED', sourceIp: fx.lab.ip('client'), direction: 'egress',
        source: { namespace: NAMESPACE, pod: 'client-7c9f', identity: IDENTITY.client },
        service: { namespace: NAMESPACE, name: 'web' },
        translation: { path: 'tc', vip: VIP, backendPort: 8080 },
      });
      expect(f.sourcePort).toBeGreaterThan(1023);
      expect(f.ifindex).toBeGreaterThan(0);
      expect(BACKENDS.map((b) => `web-${b}`)).toContain(f.destination?.pod);
    }
    for (const f of tcp) expect(f.tcpFlags).toEqual(['SYN']);
    for (const f of udp) {
      expect(f.translation!.vipPort).toBe(53);
      expect(f.tcpFlags).toBeUndefined();
    }
  });

  it('a service without backends shows as no_backend drops on both paths', async () => {
    mark = since();
    expect((await fx.lab.client('tcp', EMPTY, 80, 1, true)).errors).toEqual({ ECONNREFUSED: 1 });
    expect((await fx.lab.client('tcp', EMPTY, 80, 1, false)).errors).toEqual({ ECONNREFUSED: 1 });
    const drops = await waitForFlows(fx.flows, (f) => f.type === 'drop' && f.dropReason === 'no_backend', 2, 3000, mark);
    expect(drops).toHaveLength(2);
    for (const f of drops) {
      expect(f).toMatchObject({
        verdict: 'DROPPED', dropReasonCode: -132, protocol: 'TCP', destinationIp: EMPTY, destinationPort: 80,
        service: { namespace: NAMESPACE, name: 'empty' },
      });
    }
    const tc = drops.find((f) => f.ifindex > 0)!;
    expect(tc.source?.pod).toBe('client-7c9f');
    expect(tc.tcpFlags).toEqual(['SYN']);
    expect(drops.some((f) => f.ifindex === 0 && f.cookie !== '0')).toBe(true);
  });

  it('GetFlows filters on the live server: type, drop reason, pods, labels, IPs, ports, protocol, service', async () => {
    const get = async (filter: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      flowsOf(await readStream(fx.grpc, { include: [filter], ...extra }));
    const drops = await get({ type: ['drop'] });
    expect(drops.length).toBeGreaterThanOrEqual(2);
    expect(drops.every((f) => f.type === 'drop')).toBe(true);
    expect((await get({ dropReason: ['no_backend'], service: ['shop/empty'] })).length).toBe(drops.length);
    const fromClient = await get({ sourcePod: [`${NAMESPACE}/client`] });
    expect(fromClient.length).toBeGreaterThanOrEqual(5);
    expect(fromClient.every((f) => f.source?.pod === 'client-7c9f')).toBe(true);
    const toBe1 = await get({ destinationPod: ['web-be1'], label: ['app=backend,pod=be1'] });
    expect(toBe1.every((f) => f.destinationIp === fx.lab.ip('be1'))).toBe(true);
    const udp = await get({ protocol: ['udp'], port: [53] });
    expect(udp.length).toBe(2);
    const byIp = await get({ sourceIp: ['10.200.0.0/24'], destinationIp: [VIP] });
    expect(byIp.length).toBe(4); // the tc-path translations (VIP matches the translation's frontend)
    expect(await get({ type: ['trace:socket-translation'] })).toHaveLength(3);
    expect(await get({ type: ['drop'] }, { last: 1 })).toHaveLength(1);
    const future = await get({}, { since: new Date(Date.now() + 60_000).toISOString() });
    expect(future).toHaveLength(0);
    // Excluding is the complement.
    const all = flowsOf(await readStream(fx.grpc, {}));
    const notDrops = flowsOf(await readStream(fx.grpc, { exclude: [{ type: ['drop'] }] }));
    expect(notDrops.length + drops.length).toBe(all.length);
  });

  it('refuses a malformed filter with INVALID_ARGUMENT', async () => {
    await expect(readStream(fx.grpc, { include: [{ ip: ['not-an-ip'] }] })).rejects.toMatchObject({ code: 3 });
    await expect(readStream(fx.grpc, { include: [{ type: ['bogus'] }] })).rejects.toMatchObject({ code: 3 });
  });

  it('policy: a denied connection is a policy_denied drop with identities; an allowed one a policy verdict', async () => {
    const eps = EndpointTable.restore({ endpoints: fx.lab.dp.endpoints, ipcache: fx.lab.dp.ipcache, policy: fx.lab.dp.policy });
    const pods = ['client', 'be1', 'be2'];
    await eps.syncIpcache(new Map([['0.0.0.0/0', 2], ...pods.map((p) => [`${fx.lab.ip(p)}/32`, IDENTITY[p]] as [string, number])]));
    const allow = (identity: number): AllowRule => ({ direction: 'ingress', identity, proto: 6, port: 8080, portPrefixBits: 16 });
    const set = (pod: string, ingress?: AllowRule[]) => {
      const p = fx.lab.net.pods.find((x) => x.name === pod)!;
      return eps.setEndpoint({
        ip: p.ip, ifindex: p.hostIfIndex, endpointId: pods.indexOf(pod) + 1, identity: IDENTITY[pod],
        ingressEnforced: ingress !== undefined, egressEnforced: false, rules: ingress ?? [],
      });
    };
    await set('client');
    await set('be1', [allow(IDENTITY.be2)]); // client may not reach be1
    await set('be2', [allow(IDENTITY.client)]);
    try {
      mark = since();
      const denied = await fx.lab.client('tcp', fx.lab.ip('be1'), 8080, 1, false, { timeoutMs: 300 });
      expect(denied.errors).toEqual({ TIMEOUT: 1 });
      expect((await fx.lab.client('tcp', fx.lab.ip('be2'), 8080, 1, false)).ok).toBe(1);
      const [drop] = await waitForFlows(fx.flows, (f) => f.dropReason === 'policy_denied', 1, 3000, mark);
      expect(drop).toMatchObject({
        type: 'drop', verdict: 'DROPPED', direction: 'ingress', protocol: 'TCP', dropReasonCode: -140,
        sourceIp: fx.lab.ip('client'), destinationIp: fx.lab.ip('be1'), destinationPort: 8080,
        sourceIdentity: IDENTITY.client, destinationIdentity: IDENTITY.be1,
        policy: { verdict: 'denied', direction: 'ingress' },
        source: { pod: 'client-7c9f' }, destination: { pod: 'web-be1' },
      });
      expect(drop.tcpFlags).toContain('SYN');
      const [ok] = await waitForFlows(fx.flows, (f) => f.type === 'policy-verdict' && f.policy?.verdict === 'allowed', 1, 3000, mark);
      expect(ok).toMatchObject({
        verdict: 'FORWARDED', direction: 'ingress', destinationIp: fx.lab.ip('be2'),
        sourceIdentity: IDENTITY.client, destinationIdentity: IDENTITY.be2, policy: { verdict: 'allowed', direction: 'ingress' },
      });
      const deniedViaApi = flowsOf(await readStream(fx.grpc, { include: [{ verdict: ['denied'], direction: ['ingress'], identity: [IDENTITY.be1] }] }));
      expect(deniedViaApi.map((f) => f.seq)).toEqual([drop.seq]);
    } finally {
      for (const p of pods) await eps.removeEndpoint(fx.lab.ip(p));
      await eps.syncIpcache(new Map());
    }
  });

  it('follow streams new flows as they happen, after the requested history', async () => {
    const got: Flow[] = [];
    const call = fx.grpc.getFlows({ follow: true, last: 1, include: [{ type: ['translation'] }] });
    const done = new Promise<void>((resolve) => {
      call.on('data', (m: { flow?: Flow }) => {
        if (m.flow) got.push(m.flow);
        if (got.length >= 4) resolve();
      });
      call.on('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));
    const before = since();
    await fx.lab.client('tcp', VIP, 80, 3, true);
    await Promise.race([done, new Promise((r) => setTimeout(r, 4000))]);
    call.cancel();
    expect(got).toHaveLength(4);
    expect(got[0].seq).toBeLessThan(before); // the one history flow
    expect(got.slice(1).every((f) => f.seq >= before && f.subtype === 'socket-translation')).toBe(true);
  });

  it('ebbflow observe -o json prints one flow per line with the same fields; filters and table work', async () => {
    const json = await observe(fx, ['-o', 'json', '--type', 'drop', '--drop-reason', 'no_backend', '--last', '10']);
    expect(json.code).toBe(0);
    const lines = json.out.trim().split('\n').map((l) => JSON.parse(l) as Flow);
    expect(lines).toHaveLength(2);
    expect(lines.every((f) => f.dropReason === 'no_backend' && f.service?.name === 'empty')).toBe(true);
    const table = await observe(fx, ['--from-pod', 'shop/client', '--protocol', 'UDP']);
    expect(table.code).toBe(0);
    const rows = table.out.trim().split('\n');
    expect(rows[0]).toMatch(/^TIME\s+SOURCE\s+DESTINATION\s+TYPE\s+VERDICT\s+SUMMARY$/);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toContain('shop/client-7c9f:');
    expect(rows[1]).toContain('tc-translation');
    expect(rows[1]).toContain(`${VIP}:53 (shop/web) ->`);
    expect(table.out).not.toContain('\x1b['); // not a TTY: no colour
    const compact = await observe(fx, ['-o', 'compact', '--to-ip', fx.lab.ip('be1'), '--verdict', 'denied']);
    expect(compact.out.trim().split('\n')).toHaveLength(1);
    expect(compact.out).toContain('(ID:1000) -> shop/web-be1:8080 (ID:1001) drop DROPPED');
    const bad = await observe(fx, ['--ip', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('ip');
  });

  it('ebbflow observe as a process: JSON lines on stdout, exit 0; exit 1 when no server answers', async () => {
    const ok = await observeProcess(['--server', fx.grpcAddress, '-o', 'json', '--type', 'drop', '--service', 'empty']);
    expect(ok.code).toBe(0);
    const lines = ok.out.trim().split('\n').map((l) => JSON.parse(l) as Flow);
    expect(lines.map((f) => f.dropReason)).toEqual(['no_backend', 'no_backend']);
    const down = await observeProcess(['--server', '127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.err).toContain('ebbflow observe: 127.0.0.1:1');
  });

  it('ebbflow observe --follow prints flows until stopped', async () => {
    const ac = new AbortController();
    const run = observe(fx, ['-f', '-o', 'json', '--service', 'shop/web'], ac.signal);
    await new Promise((r) => setTimeout(r, 150));
    await fx.lab.client('tcp', VIP, 80, 2, true);
    await waitForFlows(fx.flows, (f) => f.service?.name === 'web', 2, 3000, since() - 2);
    await new Promise((r) => setTimeout(r, 150));
    ac.abort();
    const r = await run;
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Flow);
    expect(lines).toHaveLength(2);
    expect(lines.every((f) => f.service?.name === 'web' && f.subtype === 'socket-translation')).toBe(true);
  });

  it('ServerStatus reports ring, flows seen, lost per stage, uptime and node', async () => {
    const st = await fx.grpc.serverStatus();
    expect(st).toMatchObject({ node: 'node', capacity: 16384, version: 'ebbflow-observer-json/1' });
    expect(st.seenFlows).toBe(fx.flows.observer.ring.written);
    expect(st.numFlows).toBe(st.seenFlows);
    expect(st.lost).toEqual({ kernel: 0, addon: 0, decode: 0, follower: 0 });
    expect(BigInt(st.uptimeNs)).toBeGreaterThan(0n);
  });
});
