// `ebbflow lb apply|status|down`: the load balancer on its own, programmed
// from a file (see src/agent/file-sync.ts).
import { parseArgs } from 'node:util';
import { startFileSync } from '../agent/file-sync.js';
import { untilStopSignal } from './signals.js';
import { loadDataplane } from '../dataplane/loader.js';
import { numberToIpv4, protoName } from '../dataplane/ip.js';

const USAGE = `usage:
  ebbflow lb apply --node NAME --file SERVICES.json [--pin-root DIR] [--endpoint NETNS:IFNAME]... [--socket-lb CGROUP]... [--hold]
  ebbflow lb status --node NAME [--pin-root DIR]
  ebbflow lb down --node NAME [--pin-root DIR]`;

export async function runLb(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      node: { type: 'string' },
      'pin-root': { type: 'string' },
      file: { type: 'string' },
      endpoint: { type: 'string', multiple: true },
      'socket-lb': { type: 'string', multiple: true },
      hold: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.node || (verb === 'apply' && !values.file) || !['apply', 'status', 'down'].includes(verb ?? '')) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  const pinRoot = values['pin-root'];
  if (verb === 'apply') {
    const endpoints = (values.endpoint ?? []).map((e): [string, string] => {
      const i = e.lastIndexOf(':');
      return i < 0 ? ['', e] : [e.slice(0, i), e.slice(i + 1)];
    });
    const h = await startFileSync({
      node: values.node, pinRoot, file: values.file!, endpoints, socketLbCgroups: values['socket-lb'] ?? [],
    });
    process.stdout.write(JSON.stringify({ applied: h.table.stats(), pinDir: h.dataplane.pinDir, pid: process.pid }) + '\n');
    if (!values.hold) {
      h.stop();
      return 0;
    }
    // Stay up: SIGHUP re-reads the file, SIGTERM/SIGINT leave the dataplane in place and exit.
    process.on('SIGHUP', () => {
      h.resync().then(
        (st) => process.stdout.write(JSON.stringify({ resynced: st }) + '\n'),
        (e: Error) => process.stderr.write(`ebbflow lb: resync failed: ${e.message}\n`),
      );
    });
    await untilStopSignal();
    h.stop();
    return 0;
  }
  const dp = await loadDataplane({ node: values.node, pinRoot });
  if (verb === 'down') {
    dp.destroy();
    process.stdout.write(`removed ${dp.pinDir}\n`);
    return 0;
  }
  for (const [k, v] of dp.lb.services.entries().filter(([k]) => k.slot === 0)) {
    process.stdout.write(`${numberToIpv4(k.address)}:${k.port}/${protoName(k.proto)} id=${v.revNatId} backends=${v.count} flags=${v.flags}\n`);
  }
  dp.close();
  return 0;
}
