// `ebbflow up --demo`: a web Deployment (3 replicas spread over the nodes)
// behind a ClusterIP Service, a NetworkPolicy that admits only pods labelled
// role=client, and real requests through the ClusterIP from an allowed and a
// non-allowed pod, followed by the flows the agents saw. Everything goes
// through the real kubectl against the cluster's API server; the demo exits
// non-zero when what it shows does not hold.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { ClusterPlan } from './plan.js';
import type { Progress } from './up.js';

const run = promisify(execFile);

export const DEMO_NAMESPACE = 'demo';

export const DEMO_MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: ${DEMO_NAMESPACE}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${DEMO_NAMESPACE}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels: {app: web}
      containers:
      - name: httpd
        image: localhost/ebbflow/busybox:1
        command: ["sh", "-c", "mkdir -p /www && echo \\"hello from $(hostname) on $NODE\\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
        env:
        - name: NODE
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${DEMO_NAMESPACE}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-from-client
  namespace: ${DEMO_NAMESPACE}
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector:
        matchLabels: {role: client}
    ports:
    - {protocol: TCP, port: 8080}
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: ${DEMO_NAMESPACE}
  labels: {role: client}
spec:
  containers:
  - {name: sh, image: localhost/ebbflow/busybox:1, command: ["sleep", "1000000"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: intruder
  namespace: ${DEMO_NAMESPACE}
spec:
  containers:
  - {name: sh, image: localhost/ebbflow/busybox:1, command: ["sleep", "1000000"]}
`;

export interface DemoOptions {
  kubeconfig: string;
  plan: ClusterPlan;
  progress: Progress;
  out?: (s: string) => void;
  /** The ebbflow CLI entry (for `ebbflow observe`); default: this process's. */
  cli?: string;
}

async function kubectl(kubeconfig: string, args: string[], input?: string, timeoutMs = 180_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, out, err: e.message });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out, err });
    });
    p.stdin.end(input ?? '');
  });
}

function indent(s: string): string {
  return s.trimEnd().split('\n').map((l) => `    ${l}`).join('\n') + '\n';
}

/** Runs the demo on a cluster that is up; 0 when everything it shows held. */
export async function runClusterDemo(opts: DemoOptions): Promise<number> {
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const say = opts.progress;
  const k = (args: string[], input?: string, timeoutMs?: number) => kubectl(opts.kubeconfig, args, input, timeoutMs);
  const must = async (args: string[], input?: string) => {
    const r = await k(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.err.trim() || r.out.trim()}`);
    return r.out;
  };
  if ((await k(['version', '--client'])).code === 127) throw new Error('the demo drives the cluster with kubectl, which is not installed');

  say('demo: kubectl apply (Deployment web x3, Service web, NetworkPolicy web-from-client, pods client and intruder)');
  out('\n$ kubectl apply -f demo.yaml\n' + indent(await must(['apply', '-f', '-'], DEMO_MANIFEST)));
  say('demo: waiting for the pods');
  await must(['-n', DEMO_NAMESPACE, 'rollout', 'status', 'deployment/web', '--timeout=180s']);
  await must(['-n', DEMO_NAMESPACE, 'wait', '--for=condition=Ready', 'pod/client', 'pod/intruder', '--timeout=180s']);
  out('\n$ kubectl -n demo get pods -o wide\n' + indent(await must(['-n', DEMO_NAMESPACE, 'get', 'pods', '-o', 'wide'])));
  const ip = (await must(['-n', DEMO_NAMESPACE, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  out('\n$ kubectl -n demo get service web\n' + indent(await must(['-n', DEMO_NAMESPACE, 'get', 'service', 'web'])));

  let ok = true;
  out(`\nRequests through the ClusterIP ${ip} from pod client (role=client, allowed by the policy):\n`);
  const answers = new Set<string>();
  // At least 6 requests, more (up to 20) until every replica has answered.
  for (let i = 0; i < 20 && (i < 6 || answers.size < 3); i++) {
    const r = await k(['-n', DEMO_NAMESPACE, 'exec', 'client', '--', 'timeout', '4', 'wget', '-q', '-O', '-', `http://${ip}/`], undefined, 20_000);
    const line = r.code === 0 ? r.out.trim() : `FAILED: ${r.err.trim()}`;
    if (r.code !== 0) ok = false;
    else answers.add(line);
    out(`    client -> ${ip}:80  ${line}\n`);
  }
  out(`  ${answers.size} different backends answered.\n`);
  // Cluster DNS: the Service by name, through the pod's search path.
  const byName = await k(['-n', DEMO_NAMESPACE, 'exec', 'client', '--', 'timeout', '4', 'wget', '-q', '-O', '-', 'http://web/'], undefined, 20_000);
  if (byName.code !== 0) ok = false;
  out(`    client -> http://web/ (web.demo.svc.cluster.local via cluster DNS)  ${byName.code === 0 ? byName.out.trim() : `FAILED: ${byName.err.trim()}`}\n`);

  out(`\nThe same request from pod intruder (no role=client label):\n`);
  const denied = await k(['-n', DEMO_NAMESPACE, 'exec', 'intruder', '--', 'timeout', '4', 'wget', '-q', '-O', '-', `http://${ip}/`], undefined, 20_000);
  if (denied.code === 0) {
    ok = false;
    out(`    intruder -> ${ip}:80  answered (${denied.out.trim()}) — the policy did NOT hold\n`);
  } else {
    out(`    intruder -> ${ip}:80  no answer: dropped by NetworkPolicy web-from-client (${denied.err.trim().split('\n').pop()})\n`);
  }

  // Flows: the agents saw both; give the ring buffers a moment to drain.
  await new Promise((r) => setTimeout(r, 500));
  const cli = opts.cli ?? process.argv[1]!;
  const observe = async (args: string[]) => (await run(process.execPath, [cli, 'observe', '--data-dir', opts.plan.dataDir, '--no-color', ...args], { timeout: 30_000 })).stdout;
  out('\n$ ebbflow observe --from-pod demo/client --to-port 8080 --last 6\n' + indent(await observe(['--from-pod', 'demo/client', '--to-port', '8080', '--last', '6'])));
  const drops = await observe(['--from-pod', 'demo/intruder', '--verdict', 'DROPPED', '--last', '3']);
  out('\n$ ebbflow observe --from-pod demo/intruder --verdict DROPPED --last 3\n' + indent(drops));
  if (!/DROPPED/.test(drops)) {
    ok = false;
    out('  (no drop flow was reported for the intruder)\n');
  }
  out(`\n${ok ? 'Demo OK' : 'Demo FAILED'}: try it yourself with
  export KUBECONFIG=${opts.kubeconfig}
  kubectl -n demo exec client -- wget -qO- http://${ip}/
  ebbflow observe --namespace demo --follow
  kubectl delete namespace demo        # remove the demo;  ebbflow down  # remove the cluster
`);
  return ok ? 0 : 1;
}
