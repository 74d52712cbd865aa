// The kubelet end to end on a real node: containerd 1.6 in a node network
// namespace, ebbflow-cni through the agent, the API server, and pods
// applied with kubectl: a web server pod reached from a second pod by IP,
// a missing image reported as ErrImagePull/ImagePullBackOff, a crashing
// container restarted with back-off, and deletion leaving nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod } from '../../src/api/core.js';
import { BUSYBOX_IMAGE } from '../../src/kubelet/images.js';
import { startKubeletNode, type KubeletNode } from '../helpers/kubelet-node.js';
import { waitFor } from '../helpers/wait.js';

const root = process.getuid?.() === 0;
// Also the hybrid cgroup layout this node is built for (v1 controllers, v2 at /sys/fs/cgroup/unified).
const have = ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/runc', '/usr/bin/busybox', '/usr/lib/cni/loopback', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/memory'].filter((f) => !existsSync(f));
const built = existsSync(join(process.cwd(), 'dist', 'cni', 'main.js'));
if (!root) console.log('kubelet-containerd: skipped, needs root for namespaces, BPF and containerd');
else if (have.length) console.log(`kubelet-containerd: skipped, missing ${have.join(', ')}`);
else if (!built) console.log('kubelet-containerd: skipped, dist/cni/main.js missing (run npm run build:ts)');

const PREFIX = 'ebft-kl';
const NODE = 'kl-node';
const CIDR_PREFIX = '10.233.0.';
const VIP = '10.96.121.10';

const until = <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000) => waitFor(what, fn, ms, 100);

const pod = (name: string, spec: Record<string, unknown>) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: name } }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 2, ...spec } });

describe.skipIf(!root || have.length > 0 || !built)('kubelet with containerd, ebbflow-cni and the API server', () => {
  let n: KubeletNode;
  const getPod = async (name: string) => (await n.server.request('GET', `/api/v1/namespaces/default/pods/${name}`)).json() as Pod;

  beforeAll(async () => {
    n = await startKubeletNode({
      prefix: PREFIX, node: NODE, podCIDR: `${CIDR_PREFIX}0/24`,
      kubelet: { restartBackoff: { initialMs: 500, maxMs: 2000 }, imageBackoff: { initialMs: 1000, maxMs: 4000 }, syncIntervalMs: 250 },
    });
  }, 90_000);

  afterAll(async () => {
    await n?.close();
  }, 60_000);

  it('registers a Ready node with a lease, capacity and the runtime version', async () => {
    const node = await until('node Ready', async () => {
      const nd = (await n.server.request('GET', `/api/v1/nodes/${NODE}`)).json() as Node;
      return nd.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && nd;
    });
    expect(node.spec?.podCIDR).toBe(`${CIDR_PREFIX}0/24`);
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\.6\./);
    expect(Number(node.status?.capacity?.cpu)).toBeGreaterThan(0);
    const lease = (await n.server.request('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`)).json();
    expect(lease.spec.holderIdentity).toBe(NODE);
  });

  it('runs a web pod with a pod IP from the CIDR, reachable from another pod and from the node', async () => {
    const t0 = Date.now();
    await n.kubectl(['apply', '-f', '-'], pod('web', {
      containers: [{
        name: 'httpd', image: BUSYBOX_IMAGE,
        command: ['sh', '-c', 'echo "hello from $(POD_NAME) at $POD_IP" > /www/index.html && exec httpd -f -p 8080 -h /www'],
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
        ports: [{ containerPort: 8080, name: 'http' }],
        readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
      }],
    }));
    const web = await until('web Running and Ready', async () => {
      const p = await getPod('web');
      return p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && p;
    });
    console.log(`kubelet-containerd: web pod Ready ${Date.now() - t0} ms after kubectl apply`);
    const ip = web.status!.podIP!;
    expect(ip.startsWith(CIDR_PREFIX)).toBe(true);
    expect(web.status!.podIPs).toEqual([{ ip }]);
    expect(web.status!.hostIP).toBe('127.0.0.1');
    const cs = web.status!.containerStatuses![0]!;
    expect(cs.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(cs.state?.running).toBeDefined();
    expect(cs.image).toBe(BUSYBOX_IMAGE);
    expect(n.agent.localEndpoints().map((e) => e.ip)).toContain(ip);
    await until('Created and Started events for web', async () => {
      const evs = (await n.server.request('GET', '/api/v1/namespaces/default/events')).json().items as { reason: string; involvedObject: { name: string } }[];
      const reasons = evs.filter((e) => e.involvedObject.name === 'web').map((e) => e.reason);
      return reasons.includes('Created') && reasons.includes('Started');
    }, 5000);

    // kubectl exec through the API server to the kubelet's /exec (WebSocket, CRI ExecSync).
    expect((await n.kubectl(['exec', 'web', '--', 'cat', '/www/index.html'])).trim()).toBe(`hello from web at ${ip}`);
    const failing = await n.server.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo oops >&2; exit 7']);
    expect(failing.code).toBe(7);
    expect(failing.stderr).toContain('oops');

    const fromNode = execFileSync('nsenter', [`--net=/var/run/netns/${n.nodeNs}`, '--', '/usr/bin/busybox', 'wget', '-qO-', `http://${ip}:8080/`], { encoding: 'utf8', timeout: 10_000 });
    expect(fromNode.trim()).toBe(`hello from web at ${ip}`);

    await n.kubectl(['apply', '-f', '-'], pod('client', {
      restartPolicy: 'Never',
      // A few tries with a timeout each (timeout, not wget -T: that segfaults in Debian's busybox on a refused connection).
      containers: [{ name: 'wget', image: BUSYBOX_IMAGE, command: ['sh', '-c', `for i in 1 2 3 4 5; do timeout 3 wget -qO- http://${ip}:8080/ && exit 0; echo "attempt $i failed" >&2; sleep 0.5; done; exit 1`] }],
    }));
    const client = await until('client Succeeded', async () => {
      const p = await getPod('client');
      if (p.status?.phase === 'Failed') return p;
      return p.status?.phase === 'Succeeded' && p;
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}; client status: ${JSON.stringify((await getPod('client')).status)}`);
    });
    expect(client.status?.phase, await n.kubectl(['logs', 'client']).catch((e: Error) => e.message)).toBe('Succeeded');
    expect(client.status!.containerStatuses![0]!.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    const logDir = join(n.logRoot, `default_client_${client.metadata.uid}`, 'wget');
    const log = readFileSync(join(logDir, readdirSync(logDir)[0]!), 'utf8');
    expect(log).toContain(`hello from web at ${ip}`);
    // The same through the API server's pods/log, proxied to the kubelet's /containerLogs.
    const clientLog = await n.kubectl(['logs', 'client']);
    if (clientLog.includes('attempt')) console.log(`kubelet-containerd: client needed retries: ${clientLog}`);
    expect(clientLog).toContain(`hello from web at ${ip}`);
  });

  it('reaches the web pod through a ClusterIP Service from another pod', async () => {
    const ip = (await getPod('web')).status!.podIP!;
    await n.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: VIP, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }));
    await n.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', endpoints: [{ addresses: [ip], conditions: { ready: true } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }));
    await n.agent.idle();
    await n.kubectl(['apply', '-f', '-'], pod('viasvc', {
      restartPolicy: 'Never',
      containers: [{ name: 'wget', image: BUSYBOX_IMAGE, command: ['sh', '-c', `for i in 1 2 3 4 5; do timeout 3 wget -qO- http://${VIP}/ && exit 0; echo "attempt $i failed" >&2; sleep 0.5; done; exit 1`] }],
    }));
    const p = await until('viasvc finished', async () => {
      const cur = await getPod('viasvc');
      return (cur.status?.phase === 'Succeeded' || cur.status?.phase === 'Failed') && cur;
    });
    const log = await n.kubectl(['logs', 'viasvc']);
    expect(p.status!.phase, log).toBe('Succeeded');
    expect(log).toContain(`hello from web at ${ip}`);
  });

  it('runs a hostNetwork pod in the node namespace with the node IP', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('hostnet', { hostNetwork: true, containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo on-the-node > /www/index.html && exec httpd -f -p 18090 -h /www'] }] }));
    const p = await until('hostnet Running', async () => {
      const cur = await getPod('hostnet');
      return cur.status?.phase === 'Running' && cur;
    }, 15_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify((await getPod('hostnet')).status)}`);
    });
    expect(p.status!.podIP).toBe('127.0.0.1');
    const got = await until('hostnet serves in the node namespace', () => {
      try {
        return execFileSync('nsenter', [`--net=/var/run/netns/${n.nodeNs}`, '--', '/usr/bin/busybox', 'wget', '-qO-', 'http://127.0.0.1:18090/'], { encoding: 'utf8', timeout: 5000 });
      } catch {
        return undefined;
      }
    }, 10_000);
    expect(got.trim()).toBe('on-the-node');
  });

  it('provides configMap and emptyDir volumes, secret env and a memory limit', async () => {
    await n.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { greeting: 'hi from a configmap\n' } }));
    await n.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'default' }, stringData: { token: 's3cret' } }));
    await n.kubectl(['apply', '-f', '-'], pod('vols', {
      volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }, { name: 'scratch', emptyDir: {} }],
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE,
        command: ['sh', '-c', 'cat /cfg/greeting; echo "token=$TOKEN"; echo written > /scratch/f && cat /scratch/f; exec sleep 3600'],
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } }],
        volumeMounts: [{ name: 'cfg', mountPath: '/cfg', readOnly: true }, { name: 'scratch', mountPath: '/scratch' }],
        resources: { limits: { memory: '64Mi', cpu: '250m' } },
      }],
    }));
    const p = await until('vols Running', async () => {
      const cur = await getPod('vols');
      return cur.status?.phase === 'Running' && cur;
    });
    await until('vols logs', async () => (await n.kubectl(['logs', 'vols'])).includes('written'));
    expect((await n.kubectl(['logs', 'vols'])).trim().split('\n')).toEqual(['hi from a configmap', 'token=s3cret', 'written']);
    const id = p.status!.containerStatuses![0]!.containerID!.replace('containerd://', '');
    const limitFile = readdirSync('/sys/fs/cgroup/memory').filter((d) => d.startsWith('ebbflow-test-kl-')).map((d) => `/sys/fs/cgroup/memory/${d}/${id}/memory.limit_in_bytes`).find((f) => existsSync(f));
    expect(limitFile).toBeDefined();
    expect(Number(readFileSync(limitFile!, 'utf8'))).toBe(64 * 1024 * 1024);
    // In cgroup v2 too the container sits under our parent (where the agent attaches the socket LB), not in the root.
    const v2 = limitFile!.replace('/sys/fs/cgroup/memory/', '/sys/fs/cgroup/unified/').replace(/memory\.limit_in_bytes$/, 'cgroup.procs');
    expect(readFileSync(v2, 'utf8').trim().length).toBeGreaterThan(0);
  });

  it('runs init containers to completion before the app container', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('withinit', {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [{ name: 'prep', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo prepared > /work/msg'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
      containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'cat /work/msg; exec sleep 3600'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
    }));
    const p = await until('withinit Running', async () => {
      const cur = await getPod('withinit');
      return cur.status?.phase === 'Running' && cur;
    });
    expect(p.status!.conditions!.find((c) => c.type === 'Initialized')?.status).toBe('True');
    expect(p.status!.initContainerStatuses![0]!.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    await until('app log', async () => (await n.kubectl(['logs', 'withinit', '-c', 'app'])).trim() === 'prepared');
  });

  it('restarts a container whose exec liveness probe fails; an httpGet readiness probe gates Ready', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('probed', {
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE,
        command: ['sh', '-c', 'echo ok > /www/ready; touch /tmp/healthy; httpd -p 8081 -h /www; sleep 2; rm /tmp/healthy; exec sleep 3600'],
        readinessProbe: { httpGet: { path: '/ready', port: 8081 }, periodSeconds: 1 },
        livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 },
      }],
    }));
    await until('probed Ready', async () => (await getPod('probed')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
    const p = await until('liveness restart', async () => {
      const cur = await getPod('probed');
      return (cur.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && cur;
    }, 30_000);
    expect(p.status!.containerStatuses![0]!.lastState?.terminated).toBeDefined();
  }, 40_000);

  it('streams logs with kubectl logs -f until the container exits; OnFailure does not restart a success', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('ticker', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'for i in 1 2 3 4; do echo tick $i; sleep 0.4; done'] }] }));
    await until('ticker running', async () => (await getPod('ticker')).status?.phase === 'Running');
    const followed = await n.kubectl(['logs', '-f', 'ticker']);
    expect(followed.trim().split('\n')).toEqual(['tick 1', 'tick 2', 'tick 3', 'tick 4']);
    const p = await until('ticker Succeeded', async () => {
      const cur = await getPod('ticker');
      return cur.status?.phase === 'Succeeded' && cur;
    });
    expect(p.status!.containerStatuses![0]!.restartCount).toBe(0);
  });

  it('keeps running pods across a kubelet restart (same containers, no new sandbox)', async () => {
    const before = await getPod('web');
    const boxes = (await n.kubelet.cri.listPodSandbox()).length;
    await n.restartKubelet();
    await n.kubelet.syncNow();
    const after = await getPod('web');
    expect(after.status?.containerStatuses?.[0]?.containerID).toBe(before.status?.containerStatuses?.[0]?.containerID);
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(after.status?.podIP).toBe(before.status?.podIP);
    expect((await n.kubelet.cri.listPodSandbox()).length).toBe(boxes);
    await until('web Ready again', async () => (await getPod('web')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  });

  it('reports an image that cannot be found as ErrImagePull / ImagePullBackOff, quickly', async () => {
    const t0 = Date.now();
    await n.kubectl(['apply', '-f', '-'], pod('noimage', { containers: [{ name: 'c', image: 'localhost/ebbflow/does-not-exist:1' }] }));
    const seen = new Set<string>();
    await until('ImagePullBackOff after ErrImagePull', async () => {
      const w = (await getPod('noimage')).status?.containerStatuses?.[0]?.state?.waiting as { reason?: string; message?: string } | undefined;
      if (w?.reason) seen.add(w.reason);
      if (w?.reason === 'ErrImagePull') expect(w.message).toMatch(/does-not-exist/);
      return seen.has('ImagePullBackOff');
    }, 15_000);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect((await getPod('noimage')).status?.phase).toBe('Pending');
  });

  it('restarts a crashing container with back-off (restartCount grows, CrashLoopBackOff shown)', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('crash', { restartPolicy: 'Always', containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo boom; exit 3'] }] }));
    let sawBackoff = false;
    const p = await until('restartCount >= 2', async () => {
      const cur = await getPod('crash');
      const cs = cur.status?.containerStatuses?.[0];
      if ((cs?.state?.waiting as { reason?: string } | undefined)?.reason === 'CrashLoopBackOff') sawBackoff = true;
      return (cs?.restartCount ?? 0) >= 2 && cur;
    }, 30_000);
    expect(sawBackoff).toBe(true);
    expect(p.status!.phase).toBe('Running');
    expect(p.status!.containerStatuses![0]!.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect((await n.kubectl(['logs', 'crash', '--previous'])).trim()).toBe('boom');
  });

  it('deletes pods gracefully: objects gone, sandboxes removed, IPs released, no veths left', async () => {
    await n.kubectl(['delete', 'pod', '--all', '--wait=true', '--timeout=60s']);
    const left = (await n.server.request('GET', '/api/v1/namespaces/default/pods')).json().items;
    expect(left).toEqual([]);
    await until('no sandboxes', async () => (await n.kubelet.cri.listPodSandbox()).length === 0);
    expect(await n.kubelet.cri.listContainers()).toEqual([]);
    expect(n.agent.cni.ipam.list()).toEqual([]);
    expect(readdirSync(n.logRoot)).toEqual([]);
    const links = execFileSync('ip', ['-n', n.nodeNs, '-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
    expect(links.map((l) => l.split(':')[1]!.trim())).toEqual(['lo']);
  }, 90_000);
});
