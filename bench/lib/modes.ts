// The baseline load-balancing modes of bench/lb.ts: kube-proxy's iptables
// ruleset and its nftables equivalent, each loaded into the node namespace.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execInNetns } from '../../src/netns/index.js';
import { flushBuiltinChainsRestore, kubeProxyIptablesRestore, kubeProxyJumpRestore } from './kubeproxy-iptables.js';
import { kubeProxyNftDelete, kubeProxyNftResume, kubeProxyNftRuleset, kubeProxyNftSuspend } from './kubeproxy-nft.js';
import type { BenchService, LbBenchContext, LbMode } from './types.js';

/**
 * iptables-nft 1.8.9's `iptables-restore --noflush` (what kube-proxy runs) is
 * quadratic here: 1k services x 10 endpoints take ~4 s, 2k ~46 s, 4k > 120 s.
 * Above this many services the same rules are loaded without --noflush
 * (replacing the filter and nat tables of the bench's own node namespace).
 */
export const NOFLUSH_MAX_SERVICES = 1000;

// iptables-nft keeps its tables as nft tables; deleting them is the quickest
// complete teardown, and `add` first makes it safe when they are absent.
const DELETE_IPTABLES_TABLES = 'add table ip nat\ndelete table ip nat\nadd table ip filter\ndelete table ip filter\n';

async function withFile<T>(name: string, content: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ebbflow-lb-'));
  try {
    const path = join(dir, name);
    await writeFile(path, content);
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export interface IptablesModeInfo {
  /** How the last program() loaded the rules. */
  loader: 'iptables-restore --noflush' | 'iptables-restore';
}

/** kube-proxy --proxy-mode=iptables: payload via iptables-restore, then the built-in chain jumps. */
export function createIptablesMode(ctx: LbBenchContext): LbMode & IptablesModeInfo {
  const mode = {
    name: 'iptables',
    loader: 'iptables-restore --noflush' as IptablesModeInfo['loader'],
    async program(services: BenchService[]): Promise<{ programMs: number }> {
      const payload = kubeProxyIptablesRestore(services, { clusterCidr: ctx.clusterCidr });
      const noflush = services.length <= NOFLUSH_MAX_SERVICES;
      mode.loader = noflush ? 'iptables-restore --noflush' : 'iptables-restore';
      // Start from empty tables (untimed), as on kube-proxy's first sync on a
      // fresh node: --noflush would otherwise keep chains of an earlier set.
      await mode.teardown();
      return withFile('rules.txt', payload, async (rules) =>
        withFile('jumps.txt', kubeProxyJumpRestore({ flushBuiltins: true }), async (jumps) => {
          const programMs = await timed(async () => {
            await execInNetns(ctx.nodeNs, 'iptables-restore', noflush ? ['--noflush', '--counters', rules] : ['--counters', rules], {
              timeoutMs: 600_000,
            });
            await execInNetns(ctx.nodeNs, 'iptables-restore', ['--noflush', jumps]);
          });
          return { programMs };
        }),
      );
    },
    // Suspended = built-in chains emptied, so no packet reaches KUBE-*; the
    // kube-proxy chains stay loaded.
    async suspend(): Promise<void> {
      await withFile('flush.txt', flushBuiltinChainsRestore(), (f) => execInNetns(ctx.nodeNs, 'iptables-restore', ['--noflush', f]));
    },
    async resume(): Promise<void> {
      await withFile('jumps.txt', kubeProxyJumpRestore({ flushBuiltins: true }), (f) => execInNetns(ctx.nodeNs, 'iptables-restore', ['--noflush', f]));
    },
    async teardown(): Promise<void> {
      await withFile('delete.nft', DELETE_IPTABLES_TABLES, (f) => execInNetns(ctx.nodeNs, 'nft', ['-f', f]));
    },
  };
  return mode;
}

/** kube-proxy --proxy-mode=nftables: the whole `table ip kube-proxy` in one `nft -f`. */
export function createNftablesMode(ctx: LbBenchContext): LbMode {
  return {
    name: 'nftables',
    async program(services: BenchService[]): Promise<{ programMs: number }> {
      const ruleset = kubeProxyNftRuleset(services, { clusterCidr: ctx.clusterCidr });
      // Deleting the earlier table is not part of the timed load.
      await withFile('delete.nft', kubeProxyNftDelete(), (f) => execInNetns(ctx.nodeNs, 'nft', ['-f', f]));
      return withFile('rules.nft', ruleset, async (f) => ({
        programMs: await timed(() => execInNetns(ctx.nodeNs, 'nft', ['-f', f], { timeoutMs: 1_200_000 })),
      }));
    },
    // Suspended = the base chains' rules flushed; service chains and maps stay.
    async suspend(): Promise<void> {
      await withFile('suspend.nft', kubeProxyNftSuspend(), (f) => execInNetns(ctx.nodeNs, 'nft', ['-f', f]));
    },
    async resume(): Promise<void> {
      await withFile('resume.nft', kubeProxyNftResume(), (f) => execInNetns(ctx.nodeNs, 'nft', ['-f', f]));
    },
    async teardown(): Promise<void> {
      await withFile('delete.nft', kubeProxyNftDelete(), (f) => execInNetns(ctx.nodeNs, 'nft', ['-f', f]));
    },
  };
}

/** No load balancer: the client connects to backend pod IPs. */
export function createDirectMode(): LbMode {
  return {
    name: 'direct',
    program: async () => ({ programMs: 0 }),
    suspend: async () => undefined,
    resume: async () => undefined,
    teardown: async () => undefined,
  };
}
