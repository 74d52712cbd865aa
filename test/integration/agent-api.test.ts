// The node agent's dataplane side driven by a real API server: Services and
// EndpointSlices applied with kubectl become BPF service entries, and
// NetworkPolicies + Pods become enforced policy, with real traffic between
// pod namespaces checking the outcome.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicySync } from '../../src/agent/policy-sync.js';
import { startPolicyWatch, type PolicyWatchHandle } from '../../src/agent/policy-watch.js';
import { startServiceSync, type ServiceSyncHandle } from '../../src/agent/service-sync.js';
import { connect } from '../../src/client/client.js';
import { createInformerFactory, type InformerFactory } from '../../src/client/factory.js';
import { EndpointTable } from '../../src/dataplane/endpoint-table.js';
import { createLbLab, type ClientResult, type LbLab } from '../../src/demo/lab.js';
import { createLogger } from '../../src/log/logger.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/wait.js';

const root = process.getuid?.() === 0;
if (!root) console.log('agent-api: skipped, needs root for namespaces and BPF');
const VIP = '10.96.100.10';

const until = <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000) => waitFor(what, fn, ms, 100);

describe.skipIf(!root)('agent against the API server', () => {
  let server: TestServer;
  let lab: LbLab;
  let informers: InformerFactory;
  let services: ServiceSyncHandle;
  let policies: PolicyWatchHandle;
  const logger = createLogger({ level: 'silent' });

  const kubectl = async (args: string[], input?: string) => {
    const r = await server.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const slice = (ips: string[]) => JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'tcp', port: 8080, protocol: 'TCP' }, { name: 'udp', port: 8080, protocol: 'UDP' }],
  });
  const tcp = (to: string, count = 6, from?: string): Promise<ClientResult> =>
    lab.client('tcp', to, to === VIP ? 80 : 8080, count, false, { from, timeoutMs: 500 });

  beforeAll(async () => {
    server = await startTestServer();
    lab = await createLbLab({ prefix: 'ebft-ag' });
    informers = createInformerFactory(connect(server.kubeconfig), { logger });
    services = await startServiceSync({ informers, table: lab.table, logger });
    const table = EndpointTable.restore({ endpoints: lab.dp.endpoints, ipcache: lab.dp.ipcache, policy: lab.dp.policy });
    const local = lab.net.pods.map((p, i) => ({ pod: `default/${p.name}`, ip: p.ip, ifindex: p.hostIfIndex, endpointId: i + 1 }));
    policies = await startPolicyWatch({ informers, sync: new PolicySync(table), localEndpoints: () => local, logger });
  }, 90_000);

  afterAll(async () => {
    services?.stop();
    policies?.stop();
    await informers?.stop();
    await lab?.teardown();
    await server?.close();
  });

  it('programs a Service applied with kubectl and follows its EndpointSlice', async () => {
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { clusterIP: VIP, ports: [{ name: 'tcp', port: 80, targetPort: 8080 }, { name: 'udp', port: 53, protocol: 'UDP', targetPort: 8080 }] },
    }));
    await kubectl(['apply', '-f', '-'], slice(['be1', 'be2', 'be3'].map((b) => lab.ip(b))));
    await until('all three backends behind the VIP', async () => Object.keys((await tcp(VIP, 30)).backends).length === 3);
    await kubectl(['apply', '-f', '-'], slice([lab.ip('be2')]));
    await until('only be2 behind the VIP', async () => {
      const r = await tcp(VIP, 10);
      return r.ok === 10 && Object.keys(r.backends).join() === 'be2';
    });
    await kubectl(['delete', 'service', 'web']);
    await until('the VIP gone', async () => (await tcp(VIP, 1)).ok === 0);
  });

  it('enforces a NetworkPolicy over Pods known to the API server', async () => {
    for (const p of lab.net.pods) {
      await kubectl(['apply', '-f', '-'], JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: p.name, namespace: 'default', labels: { app: p.name } },
        spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] },
      }));
      const r = await server.request('PATCH', `/api/v1/namespaces/default/pods/${p.name}/status`,
        { status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] } }, { 'Content-Type': 'application/merge-patch+json' });
      expect(r.status).toBe(200);
    }
    expect((await tcp(lab.ip('be1'), 2)).ok).toBe(2);
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'be1-from-be2', namespace: 'default' },
      spec: { podSelector: { matchLabels: { app: 'be1' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'be2' } } }], ports: [{ port: 'http' }] }] },
    }));
    await until('client blocked from be1', async () => (await tcp(lab.ip('be1'), 1)).errors.TIMEOUT === 1);
    expect((await tcp(lab.ip('be1'), 2, 'be2')).ok).toBe(2);
    // Relabel the client: it becomes an allowed peer.
    await kubectl(['label', 'pod', 'client', 'app=be2', '--overwrite']);
    await until('client allowed after relabel', async () => (await tcp(lab.ip('be1'), 1)).ok === 1);
    await kubectl(['delete', 'networkpolicy', 'be1-from-be2']);
    expect((await tcp(lab.ip('be1'), 2, 'be3')).ok).toBe(2);
  });
});
