// Service load-balancing benchmark: new-connection rate and connect()
// latency from a client pod to N ClusterIP Services x 10 backends through
// the node namespace, for direct (no LB), kube-proxy iptables, kube-proxy
// nftables and the ebbflow dataplane (bench/lb-ebbflow.ts).
// Run: npm run bench:lb [-- --quick] [-- --positions] (root; builds build/bench/crr
// if needed). One run at a time (lock in /run); ~45 s quick, ~10 min full.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/log/logger.js';
import { createEbbflowMode } from './lb-ebbflow.js';
import { runLbBench, type LbConfig } from './lib/lb-run.js';

const execFileAsync = promisify(execFile);

/** Turns argv into the typed benchmark configuration. */
export function parseLbArgs(argv: string[]): LbConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      services: { type: 'string' },
      repeats: { type: 'string' },
      'duration-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'nft-max-services': { type: 'string' },
      'iptables-max-services': { type: 'string' },
      positions: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const int = (v: string | undefined, d: number, min = 1): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`expected an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const counts = values.services ? values.services.split(',').map((s) => int(s, 1)) : quick ? [1, 1000] : [1, 1000, 10000, 30000];
  return {
    quick,
    counts,
    backends: 10,
    repeats: int(values.repeats, 2),
    durationMs: int(values['duration-ms'], quick ? 1200 : 4000),
    maxConnections: quick ? 100_000 : 400_000,
    concurrency: int(values.concurrency, 4),
    warmupConnections: 300,
    targetsPerRun: 64,
    positions: values.positions === true,
    pauseMs: quick ? 600 : 1500,
    // nft -f of one transaction grows quadratically with service count on
    // this kernel (see lib/modes.ts); 30k would take several minutes alone.
    nftMaxServices: int(values['nft-max-services'], 10000, 0),
    iptablesMaxServices: int(values['iptables-max-services'], 30000, 0),
    logLevel: values.verbose === true ? 'debug' : 'warn',
  };
}

async function main(): Promise<void> {
  const config = parseLbArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) {
    console.error('bench:lb needs root (network namespaces, iptables/nft inside them)');
    process.exit(1);
  }
  // dist/bench/lb.js -> repository root two levels up.
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const crrPath = join(repoRoot, 'build', 'bench', 'crr');
  await execFileAsync('bash', [join(repoRoot, 'scripts', 'build-bench-tools.sh')]);
  if (!existsSync(crrPath)) throw new Error(`missing ${crrPath} after scripts/build-bench-tools.sh`);
  const logger = createLogger({ level: config.logLevel });
  const result = await runLbBench(config, { repoRoot, crrPath, logger, createEbbflowMode, print: (s) => console.log(s) });
  console.log(`RESULT ${JSON.stringify(result)}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
}
