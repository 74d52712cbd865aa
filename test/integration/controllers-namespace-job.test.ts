// Namespace deletion and Jobs through the real API server with the
// controller manager and a simulated kubelet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CronJob, Job } from '../../src/api/apps.js';
import type { Pod } from '../../src/api/core.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let kubelet: SimKubelet;
let cm: ControllerManagerHandle;
const ROOT_CA = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['n1'], exit: (p) => (p.metadata.labels?.outcome === 'fail' ? 'Failed' : p.metadata.labels?.outcome === 'ok' ? 'Succeeded' : undefined) });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false, settings: { jobBackoffBaseMs: 20, jobBackoffMaxMs: 200, rootCA: ROOT_CA } });
});
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

describe('serviceaccount and root-ca-cert-publisher controllers', () => {
  it('give every namespace a default ServiceAccount and kube-root-ca.crt, and restore them', async () => {
    await client.create(resources.namespaces, undefined, { metadata: { name: 'fresh' } });
    await waitFor('default SA', async () => !!(await client.get(resources.serviceaccounts, 'fresh', 'default').catch(() => undefined)));
    const cmOf = () => client.get<{ metadata: { name: string }; data?: Record<string, string> }>(resources.configmaps, 'fresh', 'kube-root-ca.crt').catch(() => undefined);
    await waitFor('kube-root-ca.crt', async () => (await cmOf())?.data?.['ca.crt'] === ROOT_CA);
    // Deleted or edited, both come back as they were.
    await client.delete(resources.serviceaccounts, 'fresh', 'default');
    await client.patch(resources.configmaps, 'fresh', 'kube-root-ca.crt', { data: { 'ca.crt': 'tampered' } }, 'merge');
    await waitFor('default SA recreated', async () => !!(await client.get(resources.serviceaccounts, 'fresh', 'default').catch(() => undefined)));
    await waitFor('CA restored', async () => (await cmOf())?.data?.['ca.crt'] === ROOT_CA);
    await client.delete(resources.configmaps, 'fresh', 'kube-root-ca.crt');
    await waitFor('CA recreated', async () => (await cmOf())?.data?.['ca.crt'] === ROOT_CA);
    // Existing namespaces got theirs too.
    await waitFor('default namespace SA', async () => !!(await client.get(resources.serviceaccounts, 'default', 'default').catch(() => undefined)));
  });
});

describe('namespace controller', () => {
  it('deleting a namespace removes everything in it, then the namespace', async () => {
    await client.create(resources.namespaces, undefined, { metadata: { name: 'doomed' } });
    await client.create(resources.deployments, 'doomed', { metadata: { name: 'd', namespace: 'doomed' }, spec: { replicas: 2, selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
    await client.create(resources.configmaps, 'doomed', { metadata: { name: 'cm', namespace: 'doomed' }, data: { a: 'b' } });
    await client.create(resources.services, 'doomed', { metadata: { name: 'svc', namespace: 'doomed' }, spec: { selector: { app: 'd' }, ports: [{ port: 80 }] } });
    await waitFor('pods running', async () => (await client.list<Pod>(resources.pods, 'doomed')).items.filter((p) => p.status?.phase === 'Running').length === 2);
    await client.delete(resources.namespaces, undefined, 'doomed');
    const ns = await client.get(resources.namespaces, undefined, 'doomed').catch(() => undefined);
    if (ns) expect((ns.status as { phase?: string }).phase).toBe('Terminating');
    await waitFor('namespace gone', async () => !(await client.get(resources.namespaces, undefined, 'doomed').catch(() => undefined)), 30_000);
    for (const rt of [resources.pods, resources.deployments, resources.replicasets, resources.configmaps, resources.services, resources.endpointslices]) {
      expect((await client.list(rt, 'doomed')).items).toEqual([]);
    }
  });
});

describe('job controller', () => {
  const job = (name: string, outcome: string, spec: Partial<Job['spec']>): Job => ({
    metadata: { name, namespace: 'default' },
    spec: { ...spec, template: { metadata: { labels: { outcome } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  const podsOf = async (name: string) => (await client.list<Pod>(resources.pods, 'default')).items.filter((p) => p.metadata.ownerReferences?.some((r) => r.kind === 'Job' && r.name === name));

  it('runs completions with parallelism and completes', async () => {
    await client.create(resources.jobs, 'default', job('ok', 'ok', { completions: 3, parallelism: 2 }));
    const j = await waitFor('complete', async () => {
      const x = await client.get<Job>(resources.jobs, 'default', 'ok');
      return x.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? x : undefined;
    });
    expect(j.status).toMatchObject({ succeeded: 3, failed: 0, active: 0 });
    expect(j.status?.completionTime).toBeTruthy();
    const pods = await podsOf('ok');
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => p.metadata.labels?.['job-name'] === 'ok' && p.metadata.ownerReferences?.[0].controller)).toBe(true);
  });

  it('retries failed pods until backoffLimit, then fails with BackoffLimitExceeded', async () => {
    await client.create(resources.jobs, 'default', job('bad', 'fail', { backoffLimit: 2 }));
    const j = await waitFor('failed', async () => {
      const x = await client.get<Job>(resources.jobs, 'default', 'bad');
      return x.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True') ? x : undefined;
    });
    expect(j.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(j.status).toMatchObject({ failed: 3, succeeded: 0, active: 0 });
    const pods = await podsOf('bad');
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => p.status?.phase === 'Failed')).toBe(true);
  });
});

describe('cronjob controller', () => {
  it('starts a Job for the latest missed schedule, tracks it as active, records success', async () => {
    const cj = await client.create<CronJob>(resources.cronjobs, 'default', {
      metadata: { name: 'tick', namespace: 'default' },
      spec: { schedule: '*/5 * * * *', suspend: true, jobTemplate: { spec: { template: { metadata: { labels: { outcome: 'ok' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } },
    });
    // As if the last run was 12 minutes ago: at least one 5-minute slot has been missed since.
    const last = new Date(Math.floor(Date.now() / 300_000) * 300_000 - 600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await client.update<CronJob>(resources.cronjobs, { ...cj, status: { lastScheduleTime: last } }, 'status');
    const slot = () => Math.floor(Date.now() / 300_000) * 300_000;
    const slotBefore = slot();
    await client.patch(resources.cronjobs, 'default', 'tick', { spec: { suspend: false } });
    const job = await waitFor('job created', async () => (await client.list<Job>(resources.jobs, 'default')).items.find((j) => j.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.uid === cj.metadata.uid)));
    // The latest slot at the time the controller looked (a boundary may pass meanwhile).
    const at = Date.parse(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'] ?? '');
    expect([slotBefore, slot()]).toContain(at);
    const expected = at;
    expect(job.metadata.name).toBe(`tick-${Math.floor(expected / 60_000)}`);
    expect(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(new Date(expected).toISOString().replace(/\.\d+Z$/, 'Z'));
    const done = await waitFor('success recorded', async () => {
      const x = await client.get<CronJob>(resources.cronjobs, 'default', 'tick');
      return x.status?.lastSuccessfulTime && !x.status.active?.length ? x : undefined;
    });
    expect(done.status?.lastScheduleTime).toBe(new Date(expected).toISOString().replace(/\.\d+Z$/, 'Z'));
    // Exactly one Job for that slot.
    expect((await client.list<Job>(resources.jobs, 'default')).items.filter((j) => j.metadata.ownerReferences?.some((r) => r.uid === cj.metadata.uid))).toHaveLength(1);
  });
});
