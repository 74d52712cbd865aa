// `ebbflow agent`: the node network agent (dataplane, CNI server, Service
// and NetworkPolicy sync, flows and metrics) against an API server.
import { parseArgs } from 'node:util';
import { startAgent } from '../agent/agent.js';
import { createLogger } from '../log/logger.js';

const USAGE = `usage: ebbflow agent --node NAME --kubeconfig FILE --pod-cidr CIDR
  [--state-dir DIR] [--pin-root DIR] [--cni-socket PATH] [--host-netns PATH]
  [--pod-cgroup CGROUP_V2_DIR] [--cni-bin-dir DIR --cni-conf-dir DIR]
  [--flows-address HOST:PORT] [--metrics-address HOST:PORT] [--log-level LEVEL]`;

export async function runAgent(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string' }, kubeconfig: { type: 'string' }, 'pod-cidr': { type: 'string' },
      'state-dir': { type: 'string' }, 'pin-root': { type: 'string' }, 'cni-socket': { type: 'string' },
      'host-netns': { type: 'string' }, 'pod-cgroup': { type: 'string' }, 'cni-bin-dir': { type: 'string' },
      'cni-conf-dir': { type: 'string' }, 'flows-address': { type: 'string' }, 'metrics-address': { type: 'string' },
      'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help || !v.node || !v.kubeconfig || !v['pod-cidr']) {
    process.stderr.write(USAGE + '\n');
    return v.help ? 0 : 2;
  }
  const logger = createLogger({ level: (v['log-level'] as 'info' | undefined) ?? 'warn' });
  const agent = await startAgent({
    node: v.node, kubeconfig: v.kubeconfig, podCIDR: v['pod-cidr'], stateDir: v['state-dir'], pinRoot: v['pin-root'],
    cniSocket: v['cni-socket'], hostNetns: v['host-netns'] ?? null, podCgroup: v['pod-cgroup'],
    cniBinDir: v['cni-bin-dir'], cniConfDir: v['cni-conf-dir'], flowsAddress: v['flows-address'],
    metricsAddress: v['metrics-address'], logger,
  });
  process.stdout.write(`ebbflow agent ${v.node} ready: cni ${agent.cni.socketPath}, pins ${agent.dataplane.pinDir}\n`);
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(keepAlive);
  await agent.stop();
  return 0;
}
