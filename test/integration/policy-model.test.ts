// The upstream NetworkPolicy test model against the real dataplane: pods
// x/a … z/c (plus a case's extra pods) as network namespaces on one node,
// servers on TCP/UDP 80 and 81, every policy case compiled and written to
// the BPF maps, all pod pairs probed, and the observed reachability
// compared with the reference model of the Kubernetes semantics.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicySync } from '../../src/agent/policy-sync.js';
import { EndpointTable } from '../../src/dataplane/endpoint-table.js';
import { loadDataplane, type Dataplane } from '../../src/dataplane/loader.js';
import { probeScript } from '../../src/demo/probes.js';
import { cleanupStale, createPodNetwork, netnsPath, spawnInNetns, type NetnsProcess, type PodNetwork } from '../../src/netns/index.js';
import { allowed } from '../../src/policy/model.js';
import type { Pod } from '../../src/policy/types.js';
import { baseCluster, POLICY_CASES, PROBES } from '../helpers/policy-cases.js';

const root = process.getuid?.() === 0;
if (!root) console.log('policy-model: skipped, needs root for namespaces and BPF');

const PREFIX = 'ebft-np';
// Blocked probes cost a timeout; probes that should pass but time out
// (a loaded machine) are probed once more with a long timeout before they
// count as a difference. Allowed-but-should-be-blocked is never retried.
const TIMEOUT_MS = 400;
const RETRY_TIMEOUT_MS = 2500;
const podKey = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;
const podIp = (p: Pod) => p.status!.podIP!;
// Namespace-safe pod names for the topology: x/a -> x-a.
const topoName = (p: Pod) => `${p.metadata.namespace}-${p.metadata.name}`;

describe.skipIf(!root)('NetworkPolicy model on the dataplane', () => {
  let net: PodNetwork;
  let dp: Dataplane;
  let sync: PolicySync;
  const servers: NetnsProcess[] = [];
  const pinRoot = `/sys/fs/bpf/ebbflow/test-np-${randomBytes(3).toString('hex')}`;
  const allPods = new Map<string, Pod>();

  beforeAll(async () => {
    await cleanupStale(PREFIX);
    for (const p of baseCluster().pods) allPods.set(podKey(p), p);
    for (const c of POLICY_CASES) for (const p of c.extraPods ?? []) allPods.set(podKey(p), p);
    net = await createPodNetwork({ prefix: PREFIX, pods: [...allPods.values()].map((p) => ({ name: topoName(p), ip: podIp(p) })) });
    dp = await loadDataplane({ node: 'np', pinRoot });
    for (const p of net.pods) await dp.attachEndpoint({ netns: netnsPath(net.nodeNs), ifname: p.hostIf });
    sync = new PolicySync(EndpointTable.restore({ endpoints: dp.endpoints, ipcache: dp.ipcache, policy: dp.policy }));
    for (const p of net.pods) {
      for (const port of [80, 81]) servers.push(spawnInNetns(p.ns, process.execPath, [probeScript('server'), p.name, String(port)]));
    }
    const deadline = Date.now() + 20_000;
    while (!servers.every((s) => s.stdout.includes('ready'))) {
      if (Date.now() > deadline) throw new Error('probe servers did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 90_000);

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.wait()));
    dp?.destroy();
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
    await net?.destroy();
  });

  type Probe = { from: Pod; to: Pod; proto: string; port: number };
  const probeId = (p: Probe) => `${podKey(p.from)}->${podKey(p.to)}|${p.proto}/${p.port}`;

  async function observe(probes: Probe[], timeoutMs: number): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    const bySource = new Map<Pod, Probe[]>();
    for (const p of probes) bySource.set(p.from, [...(bySource.get(p.from) ?? []), p]);
    await Promise.all([...bySource].map(async ([from, list]) => {
      const args = list.map((p) => [probeId(p), p.proto.toLowerCase(), podIp(p.to), p.port]);
      const ns = net.pods.find((p) => p.name === topoName(from))!.ns;
      const st = await spawnInNetns(ns, process.execPath, [probeScript('client'), 'matrix', String(timeoutMs), JSON.stringify(args)]).wait();
      const res = JSON.parse(st.stdout.trim().split('\n').pop()!).results as Record<string, boolean>;
      for (const [k, v] of Object.entries(res)) out.set(k, v);
    }));
    return out;
  }

  async function check(name: string, policies: Parameters<typeof allowed>[0], extra: Pod[]) {
    const base = baseCluster();
    const pods = [...base.pods, ...extra];
    const state = { policies, pods, namespaces: base.namespaces };
    const local = pods.map((p, i) => {
      const t = net.pods.find((x) => x.name === topoName(p))!;
      return { pod: podKey(p), ip: podIp(p), ifindex: t.hostIfIndex, endpointId: i + 1 };
    });
    await sync.sync(state, local);
    const probes: (Probe & { want: boolean })[] = [];
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        for (const pr of PROBES) {
          const want = allowed(policies, pods, base.namespaces, { pod: from }, { pod: to }, pr.proto, pr.port);
          probes.push({ from, to, proto: pr.proto, port: pr.port, want });
        }
      }
    }
    const seen = await observe(probes, TIMEOUT_MS);
    const slow = probes.filter((p) => p.want && !seen.get(probeId(p)));
    if (slow.length) for (const [k, v] of await observe(slow, RETRY_TIMEOUT_MS)) seen.set(k, v);
    const wrong = probes
      .filter((p) => seen.get(probeId(p)) !== p.want)
      .map((p) => `${probeId(p)}: expected ${p.want ? 'allowed' : 'blocked'}, saw ${p.want ? 'blocked' : 'allowed'}`);
    expect(wrong, `${name}: ${wrong.length} probes differ from the model`).toEqual([]);
  }

  it(`has at least 40 cases to run`, () => {
    expect(POLICY_CASES.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of POLICY_CASES) {
    it(c.name, async () => {
      await check(c.name, c.policies, c.extraPods ?? []);
      if (c.then) await check(`${c.name} (then)`, c.then, c.extraPods ?? []);
    }, 60_000);
  }
});
