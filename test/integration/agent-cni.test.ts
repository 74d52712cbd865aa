// The whole node agent against a real API server, with pods wired the way a
// container runtime does it: the ebbflow-cni plugin executed with the CNI
// env, the agent's CNI server creating veths in a node namespace and
// registering endpoints, Services and NetworkPolicies from the API in the
// BPF maps, and flows naming the pods.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentHandle } from '../../src/agent/agent.js';
import { probeScript } from '../../src/demo/probes.js';
import { createLogger } from '../../src/log/logger.js';
import { cleanupStale, createNetns, deleteNetns, netnsPath, spawnInNetns, sysctl, type NetnsProcess } from '../../src/netns/index.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { containerId, k8sArgs, requirePluginBuilt, runCni } from '../helpers/cni-harness.js';
import { waitFor } from '../helpers/wait.js';

const root = process.getuid?.() === 0;
if (!root) console.log('agent-cni: skipped, needs root for namespaces and BPF');
const PREFIX = 'ebft-agc';
const VIP = '10.96.120.10';

const until = <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000) => waitFor(what, fn, ms, 100);

describe.skipIf(!root)('agent with the CNI plugin and the API server', () => {
  let server: TestServer;
  let agent: AgentHandle;
  let dir: string;
  const pinRoot = `/sys/fs/bpf/ebbflow/test-agc-${process.pid}`;
  const nodeNs = `${PREFIX}-node`;
  const pods = new Map<string, { ns: string; id: string; ip: string }>();
  const procs: NetnsProcess[] = [];
  const conf = () => ({ cniVersion: '1.0.0', name: 'ebbflow', type: 'ebbflow-cni', agentSocket: join(dir, 'cni.sock') });

  const kubectl = async (args: string[], input?: string) => {
    const r = await server.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  };
  const probe = async (from: string, host: string, port: number) => {
    const st = await spawnInNetns(pods.get(from)!.ns, process.execPath, [probeScript('client'), 'tcp', host, String(port), '1', '500']).wait();
    return JSON.parse(st.stdout.trim().split('\n').pop()!) as { ok: number; backends: Record<string, number> };
  };

  beforeAll(async () => {
    requirePluginBuilt();
    await cleanupStale(PREFIX);
    dir = mkdtempSync(join(tmpdir(), 'ebbflow-agc-'));
    server = await startTestServer();
    await createNetns(nodeNs);
    await sysctl(nodeNs, 'net.ipv4.ip_forward', 1);
    agent = await startAgent({
      node: 'agc', kubeconfig: server.kubeconfig, podCIDR: '10.232.0.0/24', stateDir: join(dir, 'state'), pinRoot,
      cniSocket: join(dir, 'cni.sock'), hostNetns: netnsPath(nodeNs), flowsAddress: '127.0.0.1:0', metricsAddress: '127.0.0.1:0',
      logger: createLogger({ level: 'silent' }),
    });
    for (const name of ['a', 'b']) {
      const ns = `${PREFIX}-${name}`;
      await createNetns(ns);
      const id = containerId();
      const r = await runCni({ command: 'ADD', containerId: id, netns: netnsPath(ns), ifname: 'eth0', args: k8sArgs(name), config: conf() });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const ip = (r.json.ips[0].address as string).split('/')[0]!;
      pods.set(name, { ns, id, ip });
      await kubectl(['apply', '-f', '-'], JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] },
      }));
      const st = await server.request('PATCH', `/api/v1/namespaces/default/pods/${name}/status`,
        { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }, { 'Content-Type': 'application/merge-patch+json' });
      expect(st.status).toBe(200);
    }
    const srv = spawnInNetns(pods.get('b')!.ns, process.execPath, [probeScript('server'), 'pod-b', '8080']);
    procs.push(srv);
    await until('server in pod b', () => srv.stdout.includes('ready'));
  }, 90_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.wait()));
    for (const [, p] of pods) {
      await runCni({ command: 'DEL', containerId: p.id, netns: netnsPath(p.ns), ifname: 'eth0', args: k8sArgs('x'), config: conf() }).catch(() => undefined);
      await deleteNetns(p.ns).catch(() => undefined);
    }
    await agent?.stop();
    await deleteNetns(nodeNs).catch(() => undefined);
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('wires pods through the CNI plugin: tc attached, endpoints known, pod-to-pod traffic', async () => {
    for (const [, p] of pods) {
      const ep = agent.localEndpoints().find((e) => e.ip === p.ip);
      expect(ep).toBeDefined();
      expect(await agent.dataplane.endpointAttached({ netns: netnsPath(nodeNs), ifname: (await agent.cni.listEndpoints()).find((e) => e.ip === p.ip)!.hostIfname })).toBe(true);
    }
    expect((await probe('a', pods.get('b')!.ip, 8080)).ok).toBe(1);
  });

  it('load-balances a Service from the API and enforces a NetworkPolicy, with flows naming the pods', async () => {
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { clusterIP: VIP, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    }));
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', endpoints: [{ addresses: [pods.get('b')!.ip], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }));
    await until('the VIP answers from pod b', async () => (await probe('a', VIP, 80)).backends['pod-b'] === 1);

    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-b', namespace: 'default' },
      spec: { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'] },
    }));
    await until('pod a blocked from pod b', async () => (await probe('a', pods.get('b')!.ip, 8080)).ok === 0);
    await until('a drop flow naming both pods', () => {
      const ring = agent.flows.observer.ring;
      for (let s = ring.oldestSeq; s < ring.nextSeq; s++) {
        const f = ring.at(s);
        if (f?.type === 'drop' && f.dropReason === 'policy_denied' && f.source?.pod === 'a' && f.destination?.pod === 'b') return true;
      }
      return false;
    });
  });
});
