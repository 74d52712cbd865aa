// deploy/grafana-dashboard.json: every query is valid PromQL (checked by
// promtool as recording rules) and uses only metrics the agent exports.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFlowRegistry } from '../../src/agent/flows/metrics.js';
import { InMemoryServiceDirectory } from '../../src/agent/flows/directory.js';

const PROMTOOL = '/usr/bin/promtool';
interface Panel { title: string; targets: { expr: string }[] }
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: Panel[]; uid: string };
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
// Grafana's variables, as Grafana would substitute them.
const concrete = (e: string) => e.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$instance', '.*');

describe('Grafana dashboard', () => {
  it('covers flows, drops, policy verdicts, translations, conntrack, services and lost events with metrics the agent exports', async () => {
    const { registry, detach } = createFlowRegistry({
      observer: {
        onFlows: () => () => true,
        lost: () => ({ kernel: 0, addon: 0, decode: 0, follower: 0 }),
        kernelCounters: () => ({ socketTranslations: 0, tcTranslations: 0, eventsLost: 0 }),
        services: new InMemoryServiceDirectory(),
      },
      conntrackEntries: () => 0,
      defaultMetrics: false,
    });
    detach();
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(exprs.flatMap(({ expr }) => expr.match(/ebbflow_[a-z_]+/g) ?? []));
    expect([...used].sort()).toEqual([...exported].sort());
    expect(dashboard.uid).toBe('ebbflow-flows');
  });

  it.skipIf(!existsSync(PROMTOOL))('every query parses (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebft-dash-'));
    try {
      const rules = ['groups:', '  - name: dashboard', '    rules:',
        ...exprs.map((e, i) => `      - record: ebbflow:dashboard_${i}\n        expr: ${JSON.stringify(concrete(e.expr))}`)].join('\n');
      writeFileSync(join(dir, 'rules.yml'), rules + '\n');
      const r = spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
if (!existsSync(PROMTOOL)) console.log(`flows-dashboard: promtool check skipped, ${PROMTOOL} is not installed`);
