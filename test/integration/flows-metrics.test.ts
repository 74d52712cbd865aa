// The flow metrics on /metrics: exact counts after known traffic, clean
// under `promtool check metrics`, and scraped by a real Prometheus whose
// query API returns the same numbers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointTable } from '../../src/dataplane/endpoint-table.js';
import { BACKENDS, service, slice } from '../../src/demo/lab.js';
import { createFlowLab, IDENTITY, waitForFlows, type FlowLab } from '../helpers/flows-lab.js';

const root = process.getuid?.() === 0;
const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
if (!root) console.log('flows-metrics: skipped, needs root for namespaces and BPF');
if (root && !existsSync(PROMETHEUS)) console.log(`flows-metrics: Prometheus tests skipped, ${PROMETHEUS} is not installed`);

const VIP = '10.96.0.20';
const EMPTY = '10.96.0.21';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Value of one sample in exposition text (labels as written by prom-client). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.skipIf(!root)('flow metrics', () => {
  let fx: FlowLab;
  let text = '';

  beforeAll(async () => {
    fx = await createFlowLab('ebft-fm');
    const all = BACKENDS.map((b) => ({ ip: fx.lab.ip(b) }));
    await fx.lab.table.fullSync([service('web', VIP), service('empty', EMPTY)], [slice('web', all), slice('empty', [])]);
    fx.nameServices({ [VIP]: 'web', [EMPTY]: 'empty' });
    // Known traffic: 3 socket-path and 2 tc-path connections, 1 refused on
    // each path, 2 policy-denied connection attempts.
    expect((await fx.lab.client('tcp', VIP, 80, 3, true)).ok).toBe(3);
    expect((await fx.lab.client('tcp', VIP, 80, 2, false)).ok).toBe(2);
    await fx.lab.client('tcp', EMPTY, 80, 1, true);
    await fx.lab.client('tcp', EMPTY, 80, 1, false);
    const eps = EndpointTable.restore({ endpoints: fx.lab.dp.endpoints, ipcache: fx.lab.dp.ipcache, policy: fx.lab.dp.policy });
    await eps.syncIpcache(new Map([['0.0.0.0/0', 2], [`${fx.lab.ip('client')}/32`, IDENTITY.client]]));
    const be1 = fx.lab.net.pods.find((p) => p.name === 'be1')!;
    await eps.setEndpoint({ ip: be1.ip, ifindex: be1.hostIfIndex, endpointId: 1, identity: IDENTITY.be1, ingressEnforced: true, egressEnforced: false, rules: [] });
    await fx.lab.client('tcp', be1.ip, 8080, 2, false, { timeoutMs: 300 });
    await eps.removeEndpoint(be1.ip);
    // Each denied attempt is a SYN and its retransmits: wait for the ring to settle.
    await waitForFlows(fx.flows, (f) => f.dropReason === 'policy_denied', 2);
    await waitForFlows(fx.flows, (f) => f.dropReason === 'no_backend', 2);
    await new Promise((r) => setTimeout(r, 200));
    text = await (await fetch(fx.metricsUrl)).text();
  }, 60_000);

  afterAll(async () => {
    await fx?.teardown();
  });

  it('counts flows, drops, policy verdicts and translations with bounded labels', () => {
    const ring = fx.flows.observer.ring;
    const flows = [...Array(ring.size).keys()].map((i) => ring.at(ring.oldestSeq + i)!);
    const count = (p: (f: (typeof flows)[number]) => boolean) => flows.filter(p).length;
    const denied = count((f) => f.dropReason === 'policy_denied');
    expect(denied).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'ebbflow_service_translations_total{path="socket"}')).toBe(3);
    expect(sample(text, 'ebbflow_service_translations_total{path="tc"}')).toBe(2);
    expect(sample(text, 'ebbflow_flows_processed_total{type="trace",verdict="TRANSLATED",protocol="TCP"}')).toBe(5);
    expect(sample(text, 'ebbflow_drops_total{reason="no_backend",direction="egress"}')).toBe(2);
    expect(sample(text, 'ebbflow_drops_total{reason="policy_denied",direction="ingress"}')).toBe(denied);
    expect(sample(text, 'ebbflow_policy_verdicts_total{direction="ingress",verdict="denied"}')).toBe(denied);
    expect(sample(text, 'ebbflow_services')).toBe(2);
    expect(sample(text, 'ebbflow_service_backends')).toBe(6); // 3 pods x (TCP, UDP) backend entries
    expect(sample(text, 'ebbflow_conntrack_entries')).toBeGreaterThan(0);
    for (const stage of ['kernel', 'addon', 'decode', 'follower']) expect(sample(text, `ebbflow_lost_events_total{stage="${stage}"}`)).toBe(0);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).not.toMatch(/10\.200\.0\.|pod=/); // no per-address or per-pod labels
  });

  it('promtool check metrics reports nothing', () => {
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!existsSync(PROMETHEUS))('a real Prometheus scrapes /metrics and its query API returns the counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebft-fm-prom-'));
    const port = await freePort();
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: ebbflow',
      `    static_configs: [{ targets: ['${fx.flows.metrics!.address}'] }]`,
      '',
    ].join('\n'));
    let prom: ChildProcess | undefined;
    try {
      prom = spawn(PROMETHEUS, [
        `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      prom.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const api = `http://127.0.0.1:${port}/api/v1/query?query=`;
      const query = async (q: string): Promise<number | undefined> => {
        const res = await fetch(api + encodeURIComponent(q)).catch(() => undefined);
        if (!res?.ok) return undefined;
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        const v = body.data.result[0]?.value[1];
        return v === undefined ? undefined : Number(v);
      };
      const end = Date.now() + 20_000;
      while ((await query('up{job="ebbflow"}')) !== 1) {
        if (Date.now() > end) throw new Error(`Prometheus did not scrape the agent: ${stderr}`);
        if (prom.exitCode !== null) throw new Error(`Prometheus exited ${prom.exitCode}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await query('ebbflow_service_translations_total{path="socket"}')).toBe(3);
      expect(await query('sum(ebbflow_flows_processed_total{type="trace"})')).toBe(5);
      expect(await query('sum by (reason) (ebbflow_drops_total{reason="no_backend"})')).toBe(2);
      expect(await query('ebbflow_policy_verdicts_total{verdict="denied"}')).toBe(sample(text, 'ebbflow_policy_verdicts_total{direction="ingress",verdict="denied"}'));
      expect(await query('sum(ebbflow_lost_events_total)')).toBe(0);
      expect(await query('ebbflow_services')).toBe(2);
    } finally {
      if (prom?.pid && prom.exitCode === null) {
        const exited = new Promise((r) => prom!.once('exit', r));
        process.kill(prom.pid, 'SIGTERM');
        const t = setTimeout(() => prom!.exitCode === null && process.kill(prom!.pid!, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
