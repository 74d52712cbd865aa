// Volume logic the kubelet owns, on temp dirs: hostPath type checks,
// downward API values and files (labels format, resourceFieldRef divisors,
// refresh after a label change), projected volumes in the kube-api-access
// shape (token, optional root CA, namespace) and their mount, and the token
// manager's renewal at 80% of the lifetime.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod, Volume } from '../../src/api/core.js';
import { formatMap, resourceValue, volumeFieldValue } from '../../src/kubelet/downward.js';
import { checkHostPath } from '../../src/kubelet/hostpath.js';
import { containerEnv } from '../../src/kubelet/pod-spec.js';
import { createTokenManager, refreshDue } from '../../src/kubelet/tokens.js';
import { containerMounts, podVolumeDir, prepareVolumes, refreshVolumes, SERVICE_ACCOUNT_MOUNT, type VolumeSources } from '../../src/kubelet/volumes.js';

const node = { cpu: 4, memory: 8 * 2 ** 30, ephemeralStorage: 10 * 2 ** 30 };

const mkPod = (volumes: Volume[], extra: Partial<Pod['spec']> = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-1', labels: { b: 'two', a: 'one "quoted"' }, annotations: { note: 'x\ny' } },
  spec: { containers: [{ name: 'c', resources: { limits: { cpu: '250m', memory: '64Mi' } } }, { name: 'bare' }], volumes, ...extra },
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ebbflow-unit-vol-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hostPath types', () => {
  it('creates DirectoryOrCreate and FileOrCreate, checks the others', async () => {
    const d = join(dir, 'hp');
    mkdirSync(d);
    checkHostPath(join(d, 'new/deep'), 'DirectoryOrCreate');
    expect(statSync(join(d, 'new/deep')).isDirectory()).toBe(true);
    expect((statSync(join(d, 'new/deep')).mode & 0o777)).toBe(0o755 & ~process.umask());
    checkHostPath(join(d, 'f'), 'FileOrCreate');
    expect(statSync(join(d, 'f')).isFile()).toBe(true);
    expect(() => checkHostPath(join(d, 'nodir/f'), 'FileOrCreate')).toThrow(/no such file or directory/);
    checkHostPath(d, 'Directory');
    checkHostPath(join(d, 'f'), 'File');
    checkHostPath(join(d, 'missing'), '');
    checkHostPath('/dev/null', 'CharDevice');
    expect(() => checkHostPath(join(d, 'f'), 'Directory')).toThrow(`hostPath type check failed: ${join(d, 'f')} is not a directory`);
    expect(() => checkHostPath(d, 'File')).toThrow(/is not a file$/);
    expect(() => checkHostPath(join(d, 'missing'), 'Directory')).toThrow(/is not a directory$/);
    expect(() => checkHostPath(join(d, 'f'), 'Socket')).toThrow(/is not a socket file$/);
    expect(() => checkHostPath(join(d, 'f'), 'CharDevice')).toThrow(/is not a character device$/);
    expect(() => checkHostPath('/dev/null', 'BlockDevice')).toThrow(/is not a block device$/);
    expect(() => checkHostPath(d, 'Bogus')).toThrow(/invalid volume type/);
    const sock = join(d, 's.sock');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    checkHostPath(sock, 'Socket');
    await new Promise((r) => srv.close(r));
  });

  it('prepareVolumes reports a mismatch in the FailedMount wording and mounts the host path itself', async () => {
    const file = join(dir, 'hp-file');
    writeFileSync(file, 'x');
    const src: VolumeSources = { getData: async () => undefined, allocatable: node };
    const p = mkPod([{ name: 'h', hostPath: { path: file, type: 'Directory' } }]);
    await expect(prepareVolumes(p, join(dir, 'root-hp'), src)).rejects.toThrow(`MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${file} is not a directory`);
    const ok = await prepareVolumes(mkPod([{ name: 'h', hostPath: { path: file, type: 'File' } }]), join(dir, 'root-hp'), src);
    expect(ok.get('h')).toBe(file);
  });
});

describe('downward API', () => {
  it('formats labels and annotations as upstream (sorted key="value", no trailing newline)', () => {
    expect(formatMap({ b: 'two', a: 'one "quoted"' })).toBe('a="one \\"quoted\\""\nb="two"');
    expect(formatMap(undefined)).toBe('');
    const p = mkPod([]);
    expect(volumeFieldValue(p, 'metadata.annotations')).toBe('note="x\\ny"');
    expect(volumeFieldValue(p, "metadata.labels['b']")).toBe('two');
    expect(() => volumeFieldValue(p, 'status.podIP')).toThrow(/unsupported/);
  });

  it('scales resources by the divisor, unset limits are the node allocatable', () => {
    const p = mkPod([]);
    expect(resourceValue(p, 'c', 'limits.cpu', undefined, node)).toBe('1');
    expect(resourceValue(p, 'c', 'limits.cpu', '1m', node)).toBe('250');
    expect(resourceValue(p, 'c', 'requests.cpu', '1m', node)).toBe('250');
    expect(resourceValue(p, 'c', 'limits.memory', '1Mi', node)).toBe('64');
    expect(resourceValue(p, 'c', 'limits.memory', undefined, node)).toBe(String(64 * 2 ** 20));
    expect(resourceValue(p, 'bare', 'limits.cpu', undefined, node)).toBe('4');
    expect(resourceValue(p, 'bare', 'limits.memory', '1Gi', node)).toBe('8');
    expect(resourceValue(p, 'bare', 'requests.memory', undefined, node)).toBe('0');
    expect(() => resourceValue(p, 'nope', 'limits.cpu', undefined, node)).toThrow(/no container/);
  });

  it('serves resourceFieldRef env values too', () => {
    const p = mkPod([]);
    const c = { name: 'c', resources: { limits: { cpu: '250m', memory: '64Mi' } }, env: [{ name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } }] };
    expect(containerEnv(c, { pod: p, podIP: '', hostIP: '', refs: new Map(), allocatable: node })).toEqual([{ key: 'MEM', value: '64' }]);
  });

  it('writes downwardAPI files and rewrites them when labels change', async () => {
    const root = join(dir, 'root-dw');
    const vol: Volume = { name: 'info', downwardAPI: { items: [
      { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
      { path: 'sub/ns', fieldRef: { fieldPath: 'metadata.namespace' }, mode: 0o600 }, { path: 'cpu', resourceFieldRef: { containerName: 'c', resource: 'limits.cpu', divisor: '1m' } },
    ] } };
    const p = mkPod([vol]);
    const src: VolumeSources = { getData: async () => undefined, allocatable: node };
    const v = await prepareVolumes(p, root, src);
    const d = v.get('info')!;
    expect(readFileSync(join(d, 'labels'), 'utf8')).toBe('a="one \\"quoted\\""\nb="two"');
    expect(readFileSync(join(d, 'name'), 'utf8')).toBe('web');
    expect(readFileSync(join(d, 'sub/ns'), 'utf8')).toBe('shop');
    expect(statSync(join(d, 'sub/ns')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(d, 'cpu'), 'utf8')).toBe('250');
    p.metadata.labels = { a: 'changed' };
    expect(await refreshVolumes(p, root, src)).toEqual([]);
    expect(readFileSync(join(d, 'labels'), 'utf8')).toBe('a="changed"');
  });
});

describe('projected volumes and service account tokens', () => {
  const kubeApiAccess = (withCa = true): Volume => ({
    name: 'kube-api-access-x7k2p',
    projected: { defaultMode: 420, sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      ...(withCa ? [{ configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] : []),
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ] },
  });

  it('writes token, ca.crt and namespace, mounts them at the standard path, refreshes only the token', async () => {
    const root = join(dir, 'root-sa');
    let n = 0;
    const asked: unknown[] = [];
    const src: VolumeSources = {
      getData: async (ns, kind, name) => (kind === 'configmap' && name === 'kube-root-ca.crt' && ns === 'shop' ? { 'ca.crt': 'CA PEM' } : undefined),
      getToken: async (pod, audience, seconds) => {
        asked.push({ uid: pod.metadata.uid, audience, seconds });
        return `tok-${++n}`;
      },
      allocatable: node,
    };
    const p = mkPod([kubeApiAccess()]);
    const vols = await prepareVolumes(p, root, src);
    const d = vols.get('kube-api-access-x7k2p')!;
    expect(readFileSync(join(d, 'token'), 'utf8')).toBe('tok-1');
    expect(readFileSync(join(d, 'ca.crt'), 'utf8')).toBe('CA PEM');
    expect(readFileSync(join(d, 'namespace'), 'utf8')).toBe('shop');
    expect(statSync(join(d, 'token')).mode & 0o777).toBe(0o644);
    expect(asked[0]).toEqual({ uid: 'uid-1', audience: undefined, seconds: 3607 });
    await refreshVolumes(p, root, src);
    expect(readFileSync(join(d, 'token'), 'utf8')).toBe('tok-2');
    const mounts = containerMounts({ name: 'c' }, vols, p);
    expect(mounts).toEqual([{ containerPath: SERVICE_ACCOUNT_MOUNT, hostPath: d, readonly: true }]);
    expect(containerMounts({ name: 'c' }, vols, { ...p, spec: { ...p.spec, automountServiceAccountToken: false } })).toEqual([]);
    const own = containerMounts({ name: 'c', volumeMounts: [{ name: 'kube-api-access-x7k2p', mountPath: SERVICE_ACCOUNT_MOUNT, readOnly: true }] }, vols, p);
    expect(own).toHaveLength(1);
  });

  it('skips ca.crt while kube-root-ca.crt does not exist; other missing ConfigMaps fail and leave nothing behind', async () => {
    const root = join(dir, 'root-noca');
    const src: VolumeSources = { getData: async () => undefined, getToken: async () => 'tok', allocatable: node };
    const p = mkPod([kubeApiAccess()]);
    const d = (await prepareVolumes(p, root, src)).get('kube-api-access-x7k2p')!;
    expect(existsSync(join(d, 'ca.crt'))).toBe(false);
    expect(readFileSync(join(d, 'namespace'), 'utf8')).toBe('shop');
    const bad = mkPod([{ name: 'bad', projected: { sources: [{ configMap: { name: 'nope' } }] } }]);
    await expect(prepareVolumes(bad, root, src)).rejects.toThrow('MountVolume.SetUp failed for volume "bad" : configmap "nope" not found');
    expect(existsSync(join(podVolumeDir(root, 'uid-1'), 'bad'))).toBe(false);
  });

  it('renews a token at 80% of its lifetime and passes the pod as boundObjectRef', async () => {
    expect(refreshDue({ token: 't', issuedMs: 0, expiresMs: 1000_000 }, 799_999)).toBe(false);
    expect(refreshDue({ token: 't', issuedMs: 0, expiresMs: 1000_000 }, 800_000)).toBe(true);
    expect(refreshDue({ token: 't', issuedMs: 0, expiresMs: 10 * 86_400_000 }, 86_400_001)).toBe(true);
    let now = Date.parse('2026-01-01T00:00:00Z');
    const reqs: { ns: string; sa: string; spec: unknown }[] = [];
    const mgr = createTokenManager(async (ns, sa, spec) => {
      reqs.push({ ns, sa, spec });
      return { token: `t${reqs.length}`, expirationTimestamp: new Date(now + spec.expirationSeconds * 1000).toISOString() };
    }, () => now);
    const p = { ...mkPod([]), spec: { ...mkPod([]).spec, serviceAccountName: 'builder' } };
    expect(await mgr.get(p, 'vault', 3600)).toBe('t1');
    now += 2879_000;
    expect(await mgr.get(p, 'vault', 3600)).toBe('t1');
    now += 2000;
    expect(await mgr.get(p, 'vault', 3600)).toBe('t2');
    expect(reqs[0]).toEqual({ ns: 'shop', sa: 'builder', spec: { audiences: ['vault'], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'uid-1' } } });
    mgr.forget('uid-1');
    expect(await mgr.get(p, 'vault', 3600)).toBe('t3');
  });

  it('writes a ConfigMap volume once, atomically (a failure leaves no half-made directory)', async () => {
    const root = join(dir, 'root-cm');
    let data: Record<string, string> | undefined;
    const src: VolumeSources = { getData: async () => data, allocatable: node };
    const p = mkPod([{ name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'a', path: 'a' }, { key: 'missing', path: 'm' }] } }]);
    data = { a: '1' };
    await expect(prepareVolumes(p, root, src)).rejects.toThrow(/has no key missing/);
    expect(existsSync(join(podVolumeDir(root, 'uid-1'), 'cfg'))).toBe(false);
    data = { a: '1', missing: '2' };
    const d = (await prepareVolumes(p, root, src)).get('cfg')!;
    expect(readFileSync(join(d, 'm'), 'utf8')).toBe('2');
  });
});
