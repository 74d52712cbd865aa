import { describe, expect, it } from 'vitest';
import { parseLbArgs } from '../../bench/lb.js';
import { spreadTargets } from '../../bench/lib/lb-run.js';
import { formatTable, median } from '../../bench/lib/report.js';
import { backendIpFor, makeServices } from '../../bench/lib/services.js';

describe('bench:lb harness', () => {
  it('spreads client targets over the services, first and last included', () => {
    const services = makeServices(1000, [backendIpFor(0)]);
    const t = spreadTargets(services, 64);
    expect(t.length).toBe(64);
    expect(t[0]).toBe('172.30.0.1:80');
    expect(t[63]).toBe(`${services[999]!.clusterIP}:80`);
    expect(spreadTargets(services.slice(0, 1), 64)).toEqual(['172.30.0.1:80']);
  });

  it('runs 1 and 1000 services in --quick mode and all four sizes otherwise', () => {
    expect(parseLbArgs(['--quick']).counts).toEqual([1, 1000]);
    expect(parseLbArgs([]).counts).toEqual([1, 1000, 10000, 30000]);
    expect(parseLbArgs(['--services', '5,50', '--repeats', '3']).repeats).toBe(3);
    expect(() => parseLbArgs(['--repeats=0'])).toThrow(/integer >= 1/);
    expect(() => parseLbArgs(['--services', '1,x'])).toThrow(/integer >= 1/);
  });

  it('reports medians and a table with the ratio against direct', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const table = formatTable([
      { services: 1000, mode: 'iptables', programMs: 4205, rate: 6023, ratio: 0.857, p50: 35, p99: 162, p50Ratio: 1.52, note: 'x' },
    ]);
    expect(table.split('\n')[0]).toMatch(/N\s+mode\s+program ms\s+conn\/s\s+vs direct\s+p50 us\s+p99 us/);
    expect(table).toMatch(/1000\s+iptables\s+4205\s+6023\s+0\.86\s+35\s+162\s+1\.52\s+x/);
  });
});
