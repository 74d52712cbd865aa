// `ebbflow agent`: the node network agent (dataplane, CNI server, Service
// and NetworkPolicy sync, flows and metrics) against an API server, and
// with --kubelet the node's containerd + kubelet running pods through it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startAgent } from '../agent/agent.js';
import { parseTraceSampling } from '../agent/flows/sampling.js';
import { startNodeRuntime, type NodeRuntimeHandle } from '../kubelet/node.js';
import { createLogger } from '../log/logger.js';
import { untilStopSignal } from './signals.js';
import { CGROUP2_ROOT, createCgroup } from '../netns/index.js';

const USAGE = `usage: ebbflow agent --node NAME --kubeconfig FILE --pod-cidr CIDR
  [--state-dir DIR] [--pin-root DIR] [--cni-socket PATH] [--host-netns PATH]
  [--pod-cgroup CGROUP_V2_DIR] [--cni-bin-dir DIR --cni-conf-dir DIR]
  [--flows-address HOST:PORT] [--metrics-address HOST:PORT] [--log-level LEVEL]
  [--flow-trace-sample N | socket=N,tc=N,policy=N]   trace events: 1 every one (default), N 1 in N, 0 off; drops always
  [--auto-node-routes]   route every other node's pod CIDR via its InternalIP (edits this namespace's routing table)
  [--cluster-dns IP[,IP]] [--cluster-domain DOMAIN]   resolv.conf of ClusterFirst pods (default: the node's resolver)
  [--images FILE,FILE]   OCI archives to import into containerd (default: build our pause and busybox images)
  [--nodeport-device DEV --node-ip IP]   NodePort Services on DEV (the uplink, in --host-netns) at IP
  [--kubelet --run-dir DIR --node-ip IP]   also run containerd + the kubelet (pods in cgroup /ebbflow-NAME)
  [--kubelet-cert FILE --kubelet-key FILE --kubelet-client-ca FILE]  serve the kubelet API (logs, exec) on NODE-IP:10250
signals: SIGTERM/SIGINT stop the agent and leave pods running; SIGUSR2 removes every pod first.`;

export async function runAgent(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string' }, kubeconfig: { type: 'string' }, 'pod-cidr': { type: 'string' },
      'state-dir': { type: 'string' }, 'pin-root': { type: 'string' }, 'cni-socket': { type: 'string' },
      'host-netns': { type: 'string' }, 'pod-cgroup': { type: 'string' }, 'cni-bin-dir': { type: 'string' },
      'cni-conf-dir': { type: 'string' }, 'flows-address': { type: 'string' }, 'metrics-address': { type: 'string' },
      'log-level': { type: 'string' }, 'auto-node-routes': { type: 'boolean' }, images: { type: 'string' }, 'cluster-dns': { type: 'string' }, 'cluster-domain': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      kubelet: { type: 'boolean' }, 'run-dir': { type: 'string' }, 'node-ip': { type: 'string' },
      'nodeport-device': { type: 'string' },
      'flow-trace-sample': { type: 'string' },
      'kubelet-cert': { type: 'string' }, 'kubelet-key': { type: 'string' }, 'kubelet-client-ca': { type: 'string' },
    },
    strict: true,
  });
  if (v.help || !v.node || !v.kubeconfig || !v['pod-cidr']) {
    process.stderr.write(USAGE + '\n');
    return v.help ? 0 : 2;
  }
  const logger = createLogger({ level: (v['log-level'] as 'info' | undefined) ?? 'warn' });
  const runDir = v['run-dir'] ?? `/run/ebbflow/${v.node}`;
  // With the kubelet, the agent installs the plugin where this node's
  // containerd looks, and socket LB covers the pods' cgroup parent.
  const cgroupParent = `/ebbflow-${v.node}`;
  const cniBinDir = v['cni-bin-dir'] ?? (v.kubelet ? join(runDir, 'cni', 'bin') : undefined);
  const cniConfDir = v['cni-conf-dir'] ?? (v.kubelet ? join(runDir, 'cni', 'conf') : undefined);
  // The pods' cgroup exists before containerd makes its first pod, so the
  // socket-LB hooks can be attached to it from the start.
  if (v.kubelet) await createCgroup(join(CGROUP2_ROOT, cgroupParent));
  if (v['nodeport-device'] && !v['node-ip']) throw new Error('--nodeport-device needs --node-ip (the address NodePorts answer on)');
  const agent = await startAgent({
    node: v.node, kubeconfig: v.kubeconfig, podCIDR: v['pod-cidr'], stateDir: v['state-dir'], pinRoot: v['pin-root'],
    cniSocket: v['cni-socket'], hostNetns: v['host-netns'] ?? null,
    podCgroup: v['pod-cgroup'] ?? (v.kubelet ? join(CGROUP2_ROOT, cgroupParent) : undefined),
    cniBinDir, cniConfDir, flowsAddress: v['flows-address'], metricsAddress: v['metrics-address'], logger,
    nodePort: v['nodeport-device'] ? { device: v['nodeport-device'], nodeIP: v['node-ip']! } : undefined,
    nodeRoutes: v['auto-node-routes'] === true,
    flowTraceSampling: v['flow-trace-sample'] === undefined ? undefined : parseTraceSampling(v['flow-trace-sample']),
  });
  let node: NodeRuntimeHandle | undefined;
  if (v.kubelet) {
    if (!v['node-ip']) throw new Error('--kubelet needs --node-ip (where the API server reaches the kubelet)');
    const tls = [v['kubelet-cert'], v['kubelet-key'], v['kubelet-client-ca']];
    if (tls.some(Boolean) && !tls.every(Boolean)) throw new Error('--kubelet-cert, --kubelet-key and --kubelet-client-ca go together');
    const server = tls.every(Boolean)
      ? { host: v['node-ip'], port: 10250, cert: readFileSync(tls[0]!, 'utf8'), key: readFileSync(tls[1]!, 'utf8'), clientCA: readFileSync(tls[2]!, 'utf8') }
      : undefined;
    try {
      node = await startNodeRuntime({
        node: v.node, kubeconfig: v.kubeconfig, podCIDR: v['pod-cidr'], nodeIP: v['node-ip'], runDir,
        netns: v['host-netns'], cniBinDir: cniBinDir!, cniConfDir: cniConfDir!, cgroupParent, server, logger,
        images: v.images ? v.images.split(',').filter(Boolean) : undefined,
        kubelet: v['cluster-dns'] ? { clusterDNS: v['cluster-dns'].split(',').filter(Boolean), clusterDomain: v['cluster-domain'] ?? 'cluster.local' } : undefined,
      });
    } catch (err) {
      await agent.stop();
      throw err;
    }
  }
  process.stdout.write(`ebbflow agent ${v.node} ready: cni ${agent.cni.socketPath}, pins ${agent.dataplane.pinDir}${node ? ', kubelet running' : ''}\n`);
  // SIGTERM/SIGINT: stop, pods keep running (a restarted agent adopts them).
  // SIGUSR2: stop and remove every pod sandbox first (what `ebbflow down` sends).
  const sig = await untilStopSignal(['SIGTERM', 'SIGINT', 'SIGUSR2']);
  await node?.stop({ removePods: sig === 'SIGUSR2' });
  await agent.stop();
  return 0;
}
