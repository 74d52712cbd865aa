// Kubelet features around a container's life, end to end on a real node
// (containerd 1.6 in a node namespace, ebbflow-cni, the API server):
// startupProbe gating readiness and liveness and restarting on failure,
// preStop running before the stop on deletion, a failing postStart hook,
// hostPath volume types (and a mismatch reported as FailedMount),
// downwardAPI files following a label change, and a projected service
// account token the API server accepts. hostPath sources live only under a
// temp dir this file creates.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/core.js';
import { BUSYBOX_IMAGE } from '../../src/kubelet/images.js';
import { rawRequest } from '../helpers/apiserver.js';
import { startKubeletNode, type KubeletNode } from '../helpers/kubelet-node.js';
import { waitFor } from '../helpers/wait.js';

const root = process.getuid?.() === 0;
const have = ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/runc', '/usr/bin/busybox', '/usr/lib/cni/loopback', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/memory'].filter((f) => !existsSync(f));
const built = existsSync(join(process.cwd(), 'dist', 'cni', 'main.js'));
if (!root) console.log('kubelet-lifecycle: skipped, needs root for namespaces, BPF and containerd');
else if (have.length) console.log(`kubelet-lifecycle: skipped, missing ${have.join(', ')}`);
else if (!built) console.log('kubelet-lifecycle: skipped, dist/cni/main.js missing (run npm run build:ts)');

const PREFIX = 'ebft-kll';
const NODE = 'kll-node';

const until = <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000) => waitFor(what, fn, ms, 100);
const pod = (name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: name }, ...meta }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 2, ...spec } });

interface Ev { reason: string; message: string; type: string; involvedObject: { name: string } }

describe.skipIf(!root || have.length > 0 || !built)('kubelet lifecycle: probes, hooks and volumes on containerd', () => {
  let n: KubeletNode;
  let hostDir: string;
  let sockServer: Server | undefined;
  const getPod = async (name: string) => (await n.server.request('GET', `/api/v1/namespaces/default/pods/${name}`)).json() as Pod;
  const events = async (name: string) => ((await n.server.request('GET', '/api/v1/namespaces/default/events')).json().items as Ev[]).filter((e) => e.involvedObject.name === name);
  const cond = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;
  const running = (name: string, ms = 30_000) => until(`${name} Running`, async () => {
    const p = await getPod(name);
    return p.status?.phase === 'Running' && p;
  }, ms).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify((await getPod(name)).status)} events ${JSON.stringify(await events(name))}`);
  });

  beforeAll(async () => {
    hostDir = mkdtempSync(join(tmpdir(), `ebbflow-kll-host-${process.pid}-`));
    n = await startKubeletNode({
      prefix: PREFIX, node: NODE, podCIDR: '10.236.0.0/24',
      kubelet: { restartBackoff: { initialMs: 500, maxMs: 2000 }, syncIntervalMs: 250 },
    });
  }, 90_000);

  afterAll(async () => {
    await n?.kubectl(['delete', 'pod', '--all', '--wait=true', '--timeout=60s']).catch((e: Error) => console.log(`kubelet-lifecycle: delete pods: ${e.message}`));
    await n?.close();
    await new Promise((r) => (sockServer ? sockServer.close(r) : r(undefined)));
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
  }, 120_000);

  it('startupProbe: liveness and readiness wait for it, the container is not ready until it succeeds', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('slowstart', {
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'sleep 3; touch /tmp/started; exec sleep 3600'],
        startupProbe: { exec: { command: ['cat', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 20 },
        // Would kill the container at once if it ran before the startup probe succeeded.
        livenessProbe: { exec: { command: ['cat', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 1 },
        readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
      }],
    }));
    const early = await running('slowstart');
    const cs = early.status!.containerStatuses![0]!;
    expect(cs.state?.running).toBeDefined();
    expect(cs.started).toBe(false);
    expect(cs.ready).toBe(false);
    expect(cond(early, 'Ready')).toBe('False');
    const p = await until('slowstart started and Ready', async () => {
      const cur = await getPod('slowstart');
      return cur.status?.containerStatuses?.[0]?.started === true && cond(cur, 'Ready') === 'True' && cur;
    });
    expect(p.status!.containerStatuses![0]!.restartCount).toBe(0);
  }, 40_000);

  it('startupProbe: failureThreshold failures kill and restart the container with an event', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('neverstarts', {
      containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '3600'], startupProbe: { exec: { command: ['sh', '-c', 'echo not yet; exit 1'] }, periodSeconds: 1, failureThreshold: 2 } }],
    }));
    const p = await until('neverstarts restarted', async () => {
      const cur = await getPod('neverstarts');
      return (cur.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && cur;
    });
    expect(p.status!.containerStatuses![0]!.lastState?.terminated).toBeDefined();
    expect(cond(p, 'Ready')).toBe('False');
    const evs = await until('probe events', async () => {
      const e = await events('neverstarts');
      return e.some((x) => x.reason === 'Unhealthy') && e.some((x) => x.reason === 'Killing') && e;
    }, 5000);
    expect(evs.find((e) => e.reason === 'Unhealthy')).toMatchObject({ type: 'Warning', message: 'Startup probe failed: not yet' });
    expect(evs.find((e) => e.reason === 'Killing')!.message).toBe('Container c failed startup probe, will be restarted');
  }, 40_000);

  it('preStop runs before the container is stopped when the pod is deleted', async () => {
    const out = join(hostDir, 'prestop');
    await n.kubectl(['apply', '-f', '-'], pod('stopper', {
      terminationGracePeriodSeconds: 10,
      volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE,
        command: ['sh', '-c', "trap 'echo term >> /out/log; exit 0' TERM; echo up >> /out/log; while :; do sleep 0.1; done"],
        lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /out/log; sleep 1'] } } },
        volumeMounts: [{ name: 'out', mountPath: '/out' }],
      }],
    }));
    await running('stopper');
    await until('container up', () => existsSync(join(out, 'log')) && readFileSync(join(out, 'log'), 'utf8').includes('up'));
    const t0 = Date.now();
    await n.kubectl(['delete', 'pod', 'stopper', '--wait=true', '--timeout=30s']);
    const took = Date.now() - t0;
    expect(readFileSync(join(out, 'log'), 'utf8').trim().split('\n')).toEqual(['up', 'prestop', 'term']);
    // The 1 s hook and the stop share the 10 s grace: the TERM trap exits at once, so well under it.
    expect(took).toBeLessThan(9000);
  }, 40_000);

  it('an httpGet preStop hook reaches the container before it is stopped', async () => {
    const out = join(hostDir, 'httpstop');
    const cgi = "printf '#!/bin/sh\\necho prestop-http >> /out/log\\necho Content-Type: text/plain\\necho\\necho ok\\n' > /www/cgi-bin/stop";
    await n.kubectl(['apply', '-f', '-'], pod('httpstop', {
      terminationGracePeriodSeconds: 3,
      volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE, ports: [{ name: 'http', containerPort: 8082 }],
        command: ['sh', '-c', `mkdir -p /www/cgi-bin && ${cgi} && chmod +x /www/cgi-bin/stop && echo up >> /out/log && exec httpd -f -p 8082 -h /www`],
        lifecycle: { preStop: { httpGet: { path: '/cgi-bin/stop', port: 'http' } } },
        volumeMounts: [{ name: 'out', mountPath: '/out' }],
      }],
    }));
    await running('httpstop');
    await until('httpd up', () => existsSync(join(out, 'log')));
    await n.kubectl(['delete', 'pod', 'httpstop', '--wait=true', '--timeout=30s']);
    expect(readFileSync(join(out, 'log'), 'utf8').trim().split('\n')).toEqual(['up', 'prestop-http']);
  }, 40_000);

  it('a preStop hook longer than the grace period is cut short and the stop still happens', async () => {
    const out = join(hostDir, 'slowstop');
    await n.kubectl(['apply', '-f', '-'], pod('slowstop', {
      terminationGracePeriodSeconds: 3,
      volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo up >> /out/log; exec sleep 3600'],
        lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /out/log; sleep 60'] } } },
        volumeMounts: [{ name: 'out', mountPath: '/out' }],
      }],
    }));
    await running('slowstop');
    await until('container up', () => existsSync(join(out, 'log')));
    const t0 = Date.now();
    await n.kubectl(['delete', 'pod', 'slowstop', '--wait=true', '--timeout=40s']);
    const took = Date.now() - t0;
    expect(readFileSync(join(out, 'log'), 'utf8')).toContain('prestop');
    // 3 s for the hook, then at least 2 s for the stop (upstream minimum), plus the sync and sandbox removal.
    expect(took).toBeGreaterThan(3000);
    expect(took).toBeLessThan(15_000);
  }, 40_000);

  it('a failing postStart hook kills the container (FailedPostStartHook); a working one runs after start', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('badhook', {
      restartPolicy: 'Never',
      containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo hook broke >&2; exit 3'] } } } }],
    }));
    const p = await until('badhook Failed', async () => {
      const cur = await getPod('badhook');
      return cur.status?.phase === 'Failed' && cur;
    });
    expect(p.status!.containerStatuses![0]!.state?.terminated).toBeDefined();
    const ev = await until('FailedPostStartHook event', async () => (await events('badhook')).find((e) => e.reason === 'FailedPostStartHook'), 5000);
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/^Exec lifecycle hook \(\[sh -c echo hook broke >&2; exit 3\]\) for Container "c" in Pod "badhook_default\(.+\)" failed - error: command '.+' exited with 3: hook broke/);

    await n.kubectl(['apply', '-f', '-'], pod('goodhook', {
      containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'exec sleep 3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo hooked > /tmp/poststart'] } } } }],
    }));
    await running('goodhook');
    expect((await n.kubectl(['exec', 'goodhook', '--', 'cat', '/tmp/poststart'])).trim()).toBe('hooked');
  }, 40_000);

  it('hostPath: every type checked and mounted; a mismatch keeps the pod ContainerCreating with a FailedMount event', async () => {
    const h = join(hostDir, 'types');
    mkdirSync(join(h, 'dir'), { recursive: true });
    writeFileSync(join(h, 'file'), 'host file\n');
    execFileSync('mknod', [join(h, 'chr'), 'c', '1', '3']); // a /dev/null node, inside our temp dir
    execFileSync('mknod', [join(h, 'blk'), 'b', '7', '250']); // a loop device node nothing opens
    sockServer = createServer((s) => s.end('from the host socket\n'));
    await new Promise<void>((r) => sockServer!.listen(join(h, 'sock'), r));
    const vols = [
      ['created', 'DirectoryOrCreate', 'made/here'], ['dir', 'Directory', 'dir'], ['newfile', 'FileOrCreate', 'newfile'], ['file', 'File', 'file'],
      ['sock', 'Socket', 'sock'], ['chr', 'CharDevice', 'chr'], ['blk', 'BlockDevice', 'blk'], ['plain', '', 'dir'],
    ] as const;
    await n.kubectl(['apply', '-f', '-'], pod('hostpaths', {
      volumes: vols.map(([name, type, p]) => ({ name, hostPath: { path: join(h, p), type } })),
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE,
        command: ['sh', '-c', 'echo from-pod > /created/f; cat /file; [ -d /dir ] && [ -f /newfile ] && [ -S /sock ] && [ -c /chr ] && [ -b /blk ] && [ -d /plain ] && echo types-ok; exec sleep 3600'],
        volumeMounts: vols.map(([name]) => ({ name, mountPath: `/${name}`, readOnly: !['created', 'newfile'].includes(name) })),
      }],
    }));
    await running('hostpaths');
    await until('hostpaths logs', async () => (await n.kubectl(['logs', 'hostpaths'])).includes('types-ok'), 10_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await n.kubectl(['logs', 'hostpaths'])}`);
    });
    expect((await n.kubectl(['logs', 'hostpaths'])).trim().split('\n')).toEqual(['host file', 'types-ok']);
    expect(readFileSync(join(h, 'made/here/f'), 'utf8')).toBe('from-pod\n');
    expect(existsSync(join(h, 'newfile'))).toBe(true);

    await n.kubectl(['apply', '-f', '-'], pod('wrongtype', {
      volumes: [{ name: 'v', hostPath: { path: join(h, 'file'), type: 'Directory' } }],
      containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '3600'], volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
    }));
    const ev = await until('FailedMount event', async () => (await events('wrongtype')).find((e) => e.reason === 'FailedMount'), 15_000);
    expect(ev.type).toBe('Warning');
    expect(ev.message).toBe(`MountVolume.SetUp failed for volume "v" : hostPath type check failed: ${join(h, 'file')} is not a directory`);
    const p = await getPod('wrongtype');
    expect(p.status?.phase).toBe('Pending');
    expect(p.status?.containerStatuses?.[0]?.state?.waiting).toMatchObject({ reason: 'ContainerCreating', message: ev.message });
  }, 40_000);

  it('downwardAPI volume: metadata and resources as files, labels rewritten after a label change', async () => {
    await n.kubectl(['apply', '-f', '-'], pod('downward', {
      volumes: [{ name: 'podinfo', downwardAPI: { items: [
        { path: 'name', fieldRef: { fieldPath: 'metadata.name' } }, { path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } },
        { path: 'uid', fieldRef: { fieldPath: 'metadata.uid' } }, { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
        { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        { path: 'cpu_limit', resourceFieldRef: { containerName: 'c', resource: 'limits.cpu', divisor: '1m' } },
        { path: 'mem_request', resourceFieldRef: { containerName: 'c', resource: 'requests.memory', divisor: '1Mi' } },
      ] } }],
      containers: [{
        name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '3600'], resources: { limits: { cpu: '300m', memory: '48Mi' }, requests: { cpu: '100m', memory: '32Mi' } },
        volumeMounts: [{ name: 'podinfo', mountPath: '/etc/podinfo', readOnly: true }],
      }],
    }, { annotations: { owner: 'team-a' } }));
    const p = await running('downward');
    const cat = async (f: string) => n.kubectl(['exec', 'downward', '--', 'cat', `/etc/podinfo/${f}`]);
    expect(await cat('name')).toBe('downward');
    expect(await cat('namespace')).toBe('default');
    expect(await cat('uid')).toBe(p.metadata.uid);
    expect(await cat('labels')).toBe('app="downward"');
    expect(await cat('annotations')).toContain('owner="team-a"');
    expect(await cat('cpu_limit')).toBe('300');
    expect(await cat('mem_request')).toBe('32');
    await n.kubectl(['label', 'pod', 'downward', 'tier=web']);
    await until('labels file updated in the container', async () => (await cat('labels')) === 'app="downward"\ntier="web"', 10_000);
  }, 40_000);

  it('projected kube-api-access volume: a token the API server accepts, ca.crt and namespace at the standard path', async () => {
    const ca = readFileSync(join(n.server.dir, 'pki', 'ca.crt'), 'utf8');
    await n.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot', namespace: 'default' } }));
    await n.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'default' }, data: { 'ca.crt': ca } }));
    await n.kubectl(['apply', '-f', '-'], pod('sa', {
      serviceAccountName: 'robot',
      volumes: [{ name: 'kube-api-access-q7x2z', projected: { defaultMode: 420, sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ] } }],
      // No volumeMount: the kubelet mounts the kube-api-access volume at the service account path.
      containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '3600'] }],
    }));
    await running('sa');
    const dirIn = '/var/run/secrets/kubernetes.io/serviceaccount';
    const token = (await n.kubectl(['exec', 'sa', '--', 'cat', `${dirIn}/token`])).trim();
    expect(token.split('.')).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; exp: number; iat: number };
    expect(claims.sub).toBe('system:serviceaccount:default:robot');
    expect(claims.exp - claims.iat).toBe(3607);
    expect(await n.kubectl(['exec', 'sa', '--', 'cat', `${dirIn}/namespace`])).toBe('default');
    expect(await n.kubectl(['exec', 'sa', '--', 'cat', `${dirIn}/ca.crt`])).toBe(ca);
    const url = n.server.handle.url;
    const creds = { ca, cert: '', key: '' };
    const res = await rawRequest(url, creds, 'GET', '/api', undefined, { Authorization: `Bearer ${token}` });
    expect([200, 403]).toContain(res.status);
    const who = await rawRequest(url, creds, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }), { Authorization: `Bearer ${token}` });
    expect(who.status, who.body).toBe(201);
    expect(who.json().status.userInfo.username).toBe('system:serviceaccount:default:robot');
    // A forged token is refused, so the check above means something.
    expect((await rawRequest(url, creds, 'GET', '/api', undefined, { Authorization: `Bearer ${token.slice(0, -4)}AAAA` })).status).toBe(401);
  }, 40_000);
});
