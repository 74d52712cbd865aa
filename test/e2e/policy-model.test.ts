// The upstream NetworkPolicy model end to end: `ebbflow up --nodes 2`, the 9
// model pods (x, y, z x a, b, c) as real containerd pods spread over both
// nodes, serving TCP and UDP 80 and 81 on named ports (busybox httpd and
// our ebf-udp echo), each case applied with kubectl, and all 72 pod pairs x
// 4 probes run from inside the pods (through the real CNI, tc programs and
// cross-node routing). The expected matrix is the reference model
// (src/policy/model.ts) evaluated on the pods as the API server has them.
// The ipBlock cases run at the dataplane level only
// (test/integration/policy-model.test.ts): they are written for fixed pod IPs.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowed } from '../../src/policy/model.js';
import type { Namespace, NetworkPolicy, Pod } from '../../src/policy/types.js';
import { CLI, clusterKubectl, ebbflow, freePort } from '../helpers/cluster.js';
import { NAMESPACES, POD_NAMES, POLICY_CASES, makeNamespace } from '../helpers/policy-cases.js';

const root = process.getuid?.() === 0;
const canRun = root && existsSync(CLI) && existsSync('/usr/bin/containerd') && existsSync('/usr/bin/kubectl');
const NAME = 'ebftpol';
const dataDir = mkdtempSync(join(tmpdir(), 'ebft-pol-'));
const PROBES: { proto: 'TCP' | 'UDP'; port: number }[] = [{ proto: 'TCP', port: 80 }, { proto: 'TCP', port: 81 }, { proto: 'UDP', port: 80 }, { proto: 'UDP', port: 81 }];

const kubectl = clusterKubectl(dataDir);

// Cases the API server rejects, as kube-apiserver does (a numeric port in a
// string must be a port name; a peer must name a selector or an ipBlock):
// they exist for the model and compiler, and here we check the rejection.
const INVALID = new Map([
  ['numeric port given as a string', /must contain only lowercase alphanumerics/],
  ['an empty peer {} selects nothing', /must specify a peer/],
]);
// Cases that fit real pods: no ipBlock (fixed-IP cases) and no extra pods.
const CASES = POLICY_CASES.filter((c) => !JSON.stringify([c.policies, c.then ?? []]).includes('ipBlock') && !c.extraPods && !INVALID.has(c.name));

function modelPodManifest(ns: string, name: string, node: string): string {
  const ports = [80, 81].flatMap((p) => [`{name: serve-${p}-tcp, containerPort: ${p}, protocol: TCP}`, `{name: serve-${p}-udp, containerPort: ${p}, protocol: UDP}`]);
  return `apiVersion: v1
kind: Pod
metadata: {name: "${name}", namespace: "${ns}", labels: {pod: "${name}"}}
spec:
  nodeName: ${node}
  containers:
  - name: serve
    image: localhost/ebbflow/busybox:1
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && httpd -p 80 -h /www && httpd -p 81 -h /www && exec ebf-udp serve 80 81"]
    ports: [${ports.join(', ')}]
    readinessProbe: {tcpSocket: {port: 81}, periodSeconds: 1}
`;
}

interface Live { namespaces: Namespace[]; pods: Pod[] }

async function live(): Promise<Live> {
  const namespaces = (JSON.parse(await kubectl(['get', 'namespaces', '-o', 'json'])) as { items: Namespace[] }).items.filter((n) => (NAMESPACES as readonly string[]).includes(n.metadata.name!));
  const pods: Pod[] = [];
  for (const ns of NAMESPACES) pods.push(...(JSON.parse(await kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])) as { items: Pod[] }).items);
  return { namespaces, pods };
}

/** One exec per source pod probing every other pod on both ports in parallel; "src>dst:port" -> reachable. */
async function probeAll(state: Live): Promise<Map<string, boolean>> {
  const key = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;
  const out = new Map<string, boolean>();
  await Promise.all(state.pods.map(async (src) => {
    const targets = state.pods.filter((d) => d !== src).flatMap((d) => PROBES.map((p) => `${d.status!.podIP} ${p.port} ${key(d)} ${p.proto}`));
    const script = `for t in ${targets.map((t) => `'${t}'`).join(' ')}; do set -- $t; (if [ $4 = TCP ]; then echo | nc -w 1 $1 $2 >/dev/null 2>&1; else ebf-udp probe $1 $2 800; fi; if [ $? = 0 ]; then echo "$3:$4/$2 1"; else echo "$3:$4/$2 0"; fi) & done; wait`;
    const r = await kubectl(['-n', src.metadata.namespace!, 'exec', src.metadata.name!, '--', 'sh', '-c', script]);
    for (const line of r.trim().split('\n')) {
      const [dst, ok] = line.split(' ');
      out.set(`${key(src)}>${dst}`, ok === '1');
    }
  }));
  return out;
}

function expected(policies: NetworkPolicy[], state: Live): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const src of state.pods) {
    for (const dst of state.pods) {
      if (src === dst) continue;
      for (const p of PROBES) {
        out.set(`${src.metadata.namespace}/${src.metadata.name}>${dst.metadata.namespace}/${dst.metadata.name}:${p.proto}/${p.port}`,
          allowed(policies, state.pods, state.namespaces, { pod: src }, { pod: dst }, p.proto, p.port));
      }
    }
  }
  return out;
}

function differences(want: Map<string, boolean>, got: Map<string, boolean>): string[] {
  return [...want].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${k} expected ${v ? 'allowed' : 'blocked'}, got ${got.has(k) ? (got.get(k) ? 'allowed' : 'blocked') : 'no answer'}`);
}

/** Makes `policies` the whole policy set: apply them (updates in place), delete the others. */
async function applyPolicies(policies: NetworkPolicy[]): Promise<void> {
  // One YAML stream of documents (JSON is YAML; the comment keeps kubectl from
  // sniffing the stream as one JSON object).
  if (policies.length) await kubectl(['apply', '-f', '-'], '# policies\n' + policies.map((p) => JSON.stringify(p)).join('\n---\n'));
  const keep = new Set(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const present = (JSON.parse(await kubectl(['get', 'networkpolicy', '-A', '-o', 'json'])) as { items: NetworkPolicy[] }).items;
  for (const p of present) {
    if (!keep.has(`${p.metadata.namespace}/${p.metadata.name}`)) await kubectl(['-n', p.metadata.namespace!, 'delete', 'networkpolicy', p.metadata.name!]);
  }
}

/** Probes until the matrix matches (policies apply within a moment), at most 4 rounds. */
async function expectMatrix(policies: NetworkPolicy[], state: Live, label: string): Promise<void> {
  const want = expected(policies, state);
  let diff: string[] = [];
  for (let round = 0; round < 4; round++) {
    diff = differences(want, await probeAll(state));
    if (!diff.length) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  expect(diff, `${label}: ${diff.length} of ${want.size} probes differ`).toEqual([]);
}

describe.skipIf(!canRun)('NetworkPolicy model end to end (kubectl + containerd pods on 2 nodes)', () => {
  let state: Live;
  beforeAll(async () => {
    const port = await freePort();
    const r = await ebbflow(['up', '--nodes', '2', '--name', NAME, '--data-dir', dataDir, '--port', String(port), '--skip-setup']);
    if (r.code !== 0) throw new Error(`ebbflow up failed: ${r.err}`);
    const nodes = [`${NAME}-node1`, `${NAME}-node2`];
    let i = 0;
    const manifests = NAMESPACES.map((n) => JSON.stringify(makeNamespace(n)));
    for (const ns of NAMESPACES) for (const p of POD_NAMES) manifests.push(modelPodManifest(ns, p, nodes[i++ % 2]!));
    await kubectl(['apply', '-f', '-'], '# the model namespaces and pods\n' + manifests.join('\n---\n'));
    for (const ns of NAMESPACES) await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=180s']);
    state = await live();
    expect(state.pods).toHaveLength(9);
    expect(new Set(state.pods.map((p) => p.spec.nodeName)).size).toBe(2);
  }, 300_000);

  afterAll(async () => {
    await ebbflow(['down', '--data-dir', dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
  }, 180_000);

  it(`has ${CASES.length} cases to run`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });

  it('rejects the policies kube-apiserver rejects, with its messages', async () => {
    for (const [name, message] of INVALID) {
      const c = POLICY_CASES.find((x) => x.name === name)!;
      await expect(applyPolicies(c.policies)).rejects.toThrow(message);
    }
  });

  for (const c of CASES) {
    it(c.name, async () => {
      await applyPolicies(c.policies);
      await expectMatrix(c.policies, state, c.name);
      if (c.then) {
        await applyPolicies(c.then);
        await expectMatrix(c.then, state, `${c.name} (then)`);
      }
    }, 120_000);
  }
});
