// End to end: `ebbflow up --nodes 2` (the real CLI, real containerd, real
// kubectl, real Prometheus), the demo (Deployment spread over both nodes,
// ClusterIP Service, NetworkPolicy, flows), cross-node pod-to-pod traffic,
// metrics scraped from every agent, a request loop through the Service that
// must not fail while every agent is killed with SIGKILL and brought back,
// and then while the server is; finally `ebbflow down` must leave nothing.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, clusterKubectl, ebbflow, freePort } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const root = process.getuid?.() === 0;
const PROMETHEUS = '/usr/bin/prometheus';
const NAME = 'ebfte2e';
const FABRIC = `ebbflow-${NAME}-fabric`;
const NODES = [`${NAME}-node1`, `${NAME}-node2`];
const canRun = root && existsSync(CLI) && existsSync('/usr/bin/containerd') && existsSync('/usr/bin/kubectl');
if (!canRun) console.log('cluster-up e2e skipped: needs root, the built CLI, containerd and kubectl');

const dataDir = mkdtempSync(join(tmpdir(), 'ebft-up-'));
let port = 0;

const up = () => ebbflow(['up', '--nodes', '2', '--name', NAME, '--data-dir', dataDir, '--port', String(port), '--skip-setup', '--timeout', '180']);

const kubectl = clusterKubectl(dataDir);

function state(): { pids: { server: number; agents: Record<string, number> } } {
  return JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8'));
}

/** True while pid runs (a zombie left to an init that does not reap counts as gone). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').match(/\) ([A-Z]) /)?.[1] !== 'Z';
  } catch {
    return false;
  }
}

/** GET a URL from inside the fabric namespace (where Prometheus and the agents listen). */
async function fabricGet(url: string): Promise<string> {
  const { stdout } = await run('nsenter', [`--net=/var/run/netns/${FABRIC}`, '--', process.execPath, '-e',
    'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { process.stderr.write(String(e)); process.exit(1); })', url], { timeout: 20_000 });
  return stdout;
}

describe.skipIf(!canRun)('ebbflow up: a 2-node local cluster', () => {
  beforeAll(async () => {
    port = await freePort();
    const r = await up();
    if (r.code !== 0) throw new Error(`ebbflow up failed (${r.code}):\n${r.err}\n${r.out}`);
  }, 300_000);

  afterAll(async () => {
    if (existsSync(join(dataDir, 'cluster.json'))) await ebbflow(['down', '--data-dir', dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
  }, 180_000);

  it('has both nodes Ready with their pod CIDRs, and status says so', async () => {
    const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { podCIDR: string }; status: { addresses: { type: string; address: string }[] } }[] };
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(NODES);
    expect(nodes.items.map((n) => n.spec.podCIDR).sort()).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    const st = await ebbflow(['status', '--data-dir', dataDir, '-o', 'json']);
    expect(st.code).toBe(0);
    const report = JSON.parse(st.out) as { components: { running: boolean }[]; nodes: { ready: boolean }[] };
    expect(report.components.every((c) => c.running)).toBe(true);
    expect(report.nodes.every((n) => n.ready)).toBe(true);
    // A second `up` finds everything running and starts nothing.
    const again = await up();
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/everything was already running/);
  }, 300_000);

  it('runs the demo: Service across nodes, NetworkPolicy drop, flows observed', async () => {
    const r = await ebbflow(['up', '--name', NAME, '--data-dir', dataDir, '--port', String(port), '--skip-setup', '--demo']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/Demo OK/);
    expect(r.out).toMatch(/3 different backends answered/);
    expect(r.out).toMatch(/policy_denied/);
    const pods = JSON.parse(await kubectl(['-n', 'demo', 'get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: { spec: { nodeName: string } }[] };
    expect(new Set(pods.items.map((p) => p.spec.nodeName)).size).toBe(2);
  }, 300_000);

  it('resolves Services through cluster DNS from pods (search path, NXDOMAIN for unknown names)', async () => {
    const resolv = await kubectl(['-n', 'demo', 'exec', 'client', '--', 'cat', '/etc/resolv.conf']);
    expect(resolv).toContain('nameserver 10.96.0.10');
    expect(resolv).toContain('search demo.svc.cluster.local svc.cluster.local cluster.local');
    const ip = (await kubectl(['-n', 'demo', 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const looked = await kubectl(['-n', 'demo', 'exec', 'client', '--', 'nslookup', 'web.demo.svc.cluster.local']);
    expect(looked).toContain(`Address: ${ip}`);
    expect(await kubectl(['-n', 'demo', 'exec', 'client', '--', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://web/'])).toMatch(/hello from web-/);
    // nslookup exits 1 for a name that does not exist; its output says why.
    const missing = await kubectl(['-n', 'demo', 'exec', 'client', '--', 'sh', '-c', 'nslookup nope.demo.svc.cluster.local; echo "exit $?"']);
    expect(missing).toMatch(/NXDOMAIN/);
    expect(missing).toMatch(/exit 1/);
  }, 60_000);

  it('routes pod-to-pod traffic across nodes', async () => {
    const pods = JSON.parse(await kubectl(['-n', 'demo', 'get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { nodeName: string }; status: { podIP: string } }[] };
    const client = JSON.parse(await kubectl(['-n', 'demo', 'get', 'pod', 'client', '-o', 'json'])) as { spec: { nodeName: string } };
    const remote = pods.items.find((p) => p.spec.nodeName !== client.spec.nodeName)!;
    const body = await kubectl(['-n', 'demo', 'exec', 'client', '--', 'timeout', '5', 'wget', '-q', '-O', '-', `http://${remote.status.podIP}:8080/`]);
    expect(body).toContain(`hello from ${remote.metadata.name} on ${remote.spec.nodeName}`);
  }, 60_000);

  it('serves a NodePort Service on every node\'s address from inside the fabric, to backends on any node', async () => {
    await kubectl(['apply', '-f', '-'], `apiVersion: apps/v1
kind: Deployment
metadata: {name: np, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: np}}
  template:
    metadata: {labels: {app: np}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: np}}}
      containers:
      - name: httpd
        image: localhost/ebbflow/busybox:1
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: np, namespace: demo}
spec:
  type: NodePort
  selector: {app: np}
  ports: [{port: 80, targetPort: 8080}]
`);
    await kubectl(['-n', 'demo', 'rollout', 'status', 'deployment/np', '--timeout=120s']);
    const nodePort = Number((await kubectl(['-n', 'demo', 'get', 'service', 'np', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim());
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    const backends = new Set((await kubectl(['-n', 'demo', 'get', 'pods', '-l', 'app=np', '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(' '));
    expect(backends.size).toBe(2);
    for (const nodeIP of ['10.233.0.11', '10.233.0.12']) {
      const seen = new Set<string>();
      await waitFor(`both backends through ${nodeIP}:${nodePort}`, async () => {
        const { stdout } = await run('nsenter', [`--net=/var/run/netns/${FABRIC}`, '--', 'timeout', '5', 'busybox', 'wget', '-q', '-O', '-', `http://${nodeIP}:${nodePort}/`]);
        seen.add(stdout.trim());
        return seen.size === 2;
      }, 30_000, 50);
      expect(seen).toEqual(backends);
    }
  }, 180_000);

  it.skipIf(!existsSync(PROMETHEUS))('every agent serves /metrics on 9964 in its node namespace, scraped by Prometheus', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebft-up-prom-'));
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: ebbflow-agent',
      "    static_configs: [{ targets: ['10.233.0.11:9964', '10.233.0.12:9964'] }]",
      '',
    ].join('\n'));
    const prom = spawn('nsenter', [`--net=/var/run/netns/${FABRIC}`, '--', PROMETHEUS, `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=10.233.0.1:19090', '--log.level=warn'], { stdio: 'ignore' });
    try {
      const q = async (expr: string) => {
        const body = await fabricGet(`http://10.233.0.1:19090/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => '');
        const v = body ? (JSON.parse(body) as { data: { result: { value: [number, string] }[] } }).data.result[0]?.value[1] : undefined;
        return v === undefined ? undefined : Number(v);
      };
      await waitFor('Prometheus scraping both agents', async () => (await q('sum(up{job="ebbflow-agent"})')) === 2, 30_000, 200);
      expect(await q('sum(ebbflow_drops_total{reason="policy_denied"})')).toBeGreaterThan(0);
      expect(await q('sum(ebbflow_flows_processed_total)')).toBeGreaterThan(0);
      expect(await q('count(count by (instance) (ebbflow_services))')).toBe(2);
    } finally {
      if (prom.pid && prom.exitCode === null) {
        const exited = new Promise((r) => prom.once('exit', r));
        process.kill(prom.pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('keeps serving through the Service while every agent is killed -9 and restarted, then the server', async () => {
    const ip = (await kubectl(['-n', 'demo', 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    // A pod that requests through the ClusterIP for 45 s (bounded count too) and logs each result.
    await kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: looper, namespace: demo, labels: {role: client}}
spec:
  restartPolicy: Never
  containers:
  - name: loop
    image: localhost/ebbflow/busybox:1
    command: ["sh", "-c", "sleep 2; end=$(( $(date +%s) + 45 )); i=0; while [ $(date +%s) -lt $end ] && [ $i -lt 3000 ]; do if timeout 3 wget -q -O /dev/null http://${ip}/; then echo ok; else echo FAIL; fi; i=$((i+1)); sleep 0.05; done; echo DONE"]
`);
    // And one long-lived TCP connection through a Service: 450 lines, one per
    // 100 ms, to a sink that logs them; it must survive every restart.
    await kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: sink, namespace: demo, labels: {app: sink}}
spec:
  restartPolicy: Never
  containers:
  # No TCP readiness probe: nc -l serves exactly one connection, the probe's would end it;
  # its stdin must stay open (busybox nc ends the connection at stdin EOF).
  - {name: nc, image: localhost/ebbflow/busybox:1, command: ["sh", "-c", "sleep 100000 | nc -l -p 9000"], ports: [{containerPort: 9000}]}
---
apiVersion: v1
kind: Service
metadata: {name: sink, namespace: demo}
spec:
  selector: {app: sink}
  ports: [{port: 9000, targetPort: 9000}]
`);
    await kubectl(['-n', 'demo', 'wait', '--for=condition=Ready', 'pod/sink', '--timeout=120s']);
    await kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: stream, namespace: demo, labels: {role: client}}
spec:
  restartPolicy: Never
  containers:
  - name: nc
    image: localhost/ebbflow/busybox:1
    command: ["sh", "-c", "sleep 2; i=0; (while [ $i -lt 450 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done) | nc sink 9000; echo EXIT $?"]
`);
    await kubectl(['-n', 'demo', 'wait', '--for=condition=Ready', 'pod/looper', 'pod/stream', '--timeout=120s']);
    await new Promise((r) => setTimeout(r, 6000));

    const before = state().pids;
    for (const pid of Object.values(before.agents)) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    const r1 = await up();
    expect(r1.code, r1.err).toBe(0);
    expect(r1.out).toMatch(new RegExp(`started ${NODES[0]}, ${NODES[1]}`));
    expect(Object.values(state().pids.agents)).not.toEqual(Object.values(before.agents));

    await new Promise((r) => setTimeout(r, 4000));
    process.kill(state().pids.server, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    const r2 = await up();
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toMatch(/started server\)/);

    // Agents reconnect to the restarted server: a change made now reaches the dataplane.
    await kubectl(['-n', 'demo', 'scale', 'deployment/web', '--replicas=4']);
    await kubectl(['-n', 'demo', 'rollout', 'status', 'deployment/web', '--timeout=120s']);

    await waitFor('the request loop to finish', async () => (await kubectl(['-n', 'demo', 'logs', 'looper'])).includes('DONE'), 120_000, 1000);
    const log = await kubectl(['-n', 'demo', 'logs', 'looper']);
    const ok = log.split('\n').filter((l) => l === 'ok').length;
    const failed = log.split('\n').filter((l) => l === 'FAIL').length;
    expect(ok).toBeGreaterThan(100);
    expect(failed).toBe(0);
    // The long-lived connection carried every line, in order, and ended cleanly.
    await waitFor('the stream to finish', async () => (await kubectl(['-n', 'demo', 'logs', 'stream'])).includes('EXIT'), 120_000, 1000);
    expect((await kubectl(['-n', 'demo', 'logs', 'stream'])).trim()).toBe('EXIT 0');
    const ticks = (await kubectl(['-n', 'demo', 'logs', 'sink'])).trim().split('\n');
    expect(ticks).toEqual(Array.from({ length: 450 }, (_, i) => `tick ${i}`));
    // The new replica answers through the ClusterIP too.
    const names = new Set<string>();
    for (let i = 0; i < 16 && names.size < 4; i++) {
      names.add((await kubectl(['-n', 'demo', 'exec', 'client', '--', 'timeout', '5', 'wget', '-q', '-O', '-', `http://${ip}/`])).trim());
    }
    expect(names.size).toBe(4);
  }, 400_000);

  it('down removes every namespace, pin, cgroup, process and file', async () => {
    const pids = state().pids;
    const r = await ebbflow(['down', '--data-dir', dataDir]);
    expect(r.code, r.err + r.out).toBe(0);
    const { stdout: ns } = await run('ip', ['netns', 'list']);
    expect(ns).not.toContain(NAME);
    for (const n of NODES) {
      expect(existsSync(`/sys/fs/bpf/ebbflow/${n}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/unified/ebbflow-${n}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/memory/ebbflow-${n}`)).toBe(false);
    }
    for (const pid of [pids.server, ...Object.values(pids.agents)]) expect(running(pid), `pid ${pid}`).toBe(false);
    const { stdout: ps } = await run('ps', ['-eo', 'args']);
    expect(ps).not.toContain(dataDir);
    expect(existsSync(dataDir)).toBe(false);
  }, 180_000);
});
