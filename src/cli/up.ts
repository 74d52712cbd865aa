// `ebbflow up | down | status`: the local cluster (src/cluster) from the
// command line, with progress on stderr and the result on stdout.
import { parseArgs } from 'node:util';
import { runClusterDemo } from '../cluster/demo.js';
import { DEFAULT_DATA_DIR } from '../cluster/plan.js';
import { down, status, up, type Progress } from '../cluster/up.js';

const UP_USAGE = `usage: ebbflow up [--nodes N] [--datastore sqlite|etcd] [--data-dir DIR] [--port N] [--name NAME]
                  [--timeout SECONDS] [--skip-setup] [--images-dir DIR] [--log-level LEVEL] [--demo]

Starts (or completes) a local cluster: N node network namespaces (ebbflow-<node>)
joined by a fabric bridge, the API server in the fabric namespace (kubectl
reaches it at https://127.0.0.1:PORT), and in every node containerd, the
kubelet and the network agent. Running it again restarts whatever is not
running. --demo then deploys a web Service with a NetworkPolicy and shows it working.
  --nodes N            number of nodes (default 1; more can be added later)
  --datastore KIND     sqlite (default, embedded) or etcd (an etcd started for the cluster)
  --data-dir DIR       everything of the cluster on disk (default ${DEFAULT_DATA_DIR})
  --port N             host loopback port of the API server (default 6443)
  --name NAME          cluster name; other than "ebbflow" it prefixes node names
  --images-dir DIR     pre-built pause.tar + busybox.tar (ebbflow images build --out DIR)`;

const DOWN_USAGE = `usage: ebbflow down [--data-dir DIR]

Stops every process of the local cluster (pods first) and removes its
namespaces, BPF pins, cgroups and data directory.`;

const STATUS_USAGE = `usage: ebbflow status [--data-dir DIR] [-o json]`;

function progress(): Progress {
  const t0 = Date.now();
  return (line) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
}

export async function runUp(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' }, datastore: { type: 'string' }, 'data-dir': { type: 'string' }, port: { type: 'string' },
      name: { type: 'string' }, timeout: { type: 'string' }, 'skip-setup': { type: 'boolean' }, 'log-level': { type: 'string' },
      demo: { type: 'boolean' }, 'images-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    process.stdout.write(UP_USAGE + '\n');
    return 0;
  }
  if (v.datastore !== undefined && v.datastore !== 'sqlite' && v.datastore !== 'etcd') {
    process.stderr.write(`ebbflow up: --datastore ${v.datastore}: expected sqlite or etcd\n\n${UP_USAGE}\n`);
    return 2;
  }
  const num = (flag: string, s: string | undefined) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} ${s}: expected a positive integer`);
    return n;
  };
  const say = progress();
  const res = await up({
    nodes: num('nodes', v.nodes), datastore: v.datastore as 'sqlite' | 'etcd' | undefined, dataDir: v['data-dir'], port: num('port', v.port),
    name: v.name, timeoutMs: (num('timeout', v.timeout) ?? 180) * 1000, skipSetup: v['skip-setup'] === true, imagesDir: v['images-dir'], logLevel: v['log-level'], progress: say,
  });
  const { plan } = res;
  const what = res.started.length ? `started ${res.started.join(', ')}` : 'everything was already running';
  process.stdout.write(`Cluster "${plan.name}" is up: ${plan.nodes.length} node(s) Ready in ${(res.readyMs / 1000).toFixed(1)} s (${what}).

  export KUBECONFIG=${plan.kubeconfig}
  kubectl get nodes -o wide
  kubectl create deployment web --image=localhost/ebbflow/busybox:1 --replicas=3 -- httpd -f -p 8080
  ebbflow observe --follow          # flows from every node
  ebbflow status                    # what runs where
  ebbflow down                      # remove everything

Images available to pods (no registry is reachable): localhost/ebbflow/busybox:1, localhost/ebbflow/pause:3.9
Logs: ${plan.logsDir}
`);
  if (v.demo) return runClusterDemo({ kubeconfig: plan.kubeconfig, plan, progress: say });
  return 0;
}

export async function runDown(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (v.help) {
    process.stdout.write(DOWN_USAGE + '\n');
    return 0;
  }
  const res = await down({ dataDir: v['data-dir'], progress: progress() });
  process.stdout.write(`stopped: ${res.stopped.join(', ') || 'nothing was running'}\nremoved: ${res.removed.join(', ') || 'nothing'}\n`);
  if (res.left.length) {
    process.stderr.write(`ebbflow down: could not remove (still in use): ${res.left.join(', ')}\n`);
    return 1;
  }
  return 0;
}

export async function runStatus(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv, options: { 'data-dir': { type: 'string' }, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } }, strict: true,
  });
  if (v.help) {
    process.stdout.write(STATUS_USAGE + '\n');
    return 0;
  }
  const r = await status({ dataDir: v['data-dir'] });
  if (!r) {
    process.stderr.write(`ebbflow status: no cluster in ${v['data-dir'] ?? DEFAULT_DATA_DIR} (start one with \`ebbflow up\`)\n`);
    return 1;
  }
  if (v.output === 'json') {
    const { plan, ...rest } = r;
    process.stdout.write(JSON.stringify({ name: plan.name, kubeconfig: plan.kubeconfig, ...rest }, null, 2) + '\n');
  } else {
    process.stdout.write(`cluster ${r.plan.name} (${r.plan.datastore}), kubeconfig ${r.plan.kubeconfig}, API https://127.0.0.1:${r.plan.port}\n\n`);
    const rows = [['COMPONENT', 'PID', 'STATE', 'NAMESPACE'], ...r.components.map((c) => [c.name, String(c.pid ?? '-'), c.running ? 'running' : 'stopped', c.where])];
    const rows2 = [['NODE', 'READY', 'INTERNAL-IP', 'POD-CIDR'], ...r.nodes.map((n) => [n.name, n.ready ? 'True' : 'False', n.ip, n.podCIDR])];
    for (const table of [rows, rows2]) {
      const w = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      for (const row of table) process.stdout.write(row.map((c, i) => c.padEnd(w[i]! + 2)).join('').trimEnd() + '\n');
      process.stdout.write('\n');
    }
    if (r.pods) process.stdout.write(`pods: ${r.pods.running} running of ${r.pods.total}\n`);
    if (r.apiError) process.stdout.write(`API server: ${r.apiError}\n`);
  }
  const healthy = r.components.every((c) => c.running) && r.nodes.every((n) => n.ready);
  return healthy ? 0 : 3;
}
