// Pod volumes the kubelet can provide on one node: emptyDir, configMap and
// secret (files written under the pod's volume dir), turned into CRI mounts
// per container (mountPath, subPath, readOnly). Other sources are refused
// with a message the pod status shows.
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { Container, Pod, Volume } from '../api/core.js';

export class VolumeError extends Error {
  readonly code = 'KUBELET_ERR_VOLUME';
}

/** Fetches a ConfigMap's or Secret's data (Secret values already decoded); undefined when absent. */
export type DataSource = (namespace: string, kind: 'configmap' | 'secret', name: string) => Promise<Record<string, string | Buffer> | undefined>;

/** The pod's volume directory: <root>/<uid>/volumes. */
export function podVolumeDir(root: string, uid: string): string {
  return join(root, uid, 'volumes');
}

/** A relative path that stays inside its base (no absolute paths, no ..). */
function safeRelative(p: string, what: string): string {
  const n = normalize(p);
  if (n.startsWith('/') || n === '..' || n.startsWith('../')) throw new VolumeError(`${what} ${JSON.stringify(p)} must be a relative path inside the volume`);
  return n;
}

async function writeProjection(dir: string, data: Record<string, string | Buffer>, items: { key: string; path: string; mode?: number }[] | undefined, mode: number, what: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const files = items?.length ? items.map((i) => ({ key: i.key, path: i.path, mode: i.mode ?? mode })) : Object.keys(data).map((k) => ({ key: k, path: k, mode }));
  for (const f of files) {
    if (!(f.key in data)) throw new VolumeError(`${what} has no key ${f.key}`);
    const target = join(dir, safeRelative(f.path, 'item path'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data[f.key]!);
    chmodSync(target, f.mode);
  }
}

/** Creates every volume of the pod; returns volume name -> host path. Throws VolumeError for what cannot be provided. */
export async function prepareVolumes(pod: Pod, root: string, source: DataSource): Promise<Map<string, string>> {
  const base = podVolumeDir(root, pod.metadata.uid!);
  const ns = pod.metadata.namespace ?? 'default';
  const out = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = join(base, safeRelative(v.name, 'volume name'));
    out.set(v.name, dir);
    if (v.emptyDir) {
      mkdirSync(dir, { recursive: true, mode: 0o777 });
      chmodSync(dir, 0o777);
    } else if (v.configMap || v.secret) {
      if (existsSync(dir)) continue; // written once per pod
      const kind = v.configMap ? 'configmap' : 'secret';
      const name = v.configMap ? v.configMap.name ?? '' : v.secret!.secretName ?? '';
      const optional = (v.configMap ?? v.secret)!.optional === true;
      const data = await source(ns, kind, name);
      if (!data) {
        if (!optional) throw new VolumeError(`${kind} "${name}" not found`);
        mkdirSync(dir, { recursive: true });
        continue;
      }
      const src = (v.configMap ?? v.secret)!;
      await writeProjection(dir, data, src.items, src.defaultMode ?? 0o644, `${kind} "${name}"`);
    } else {
      throw new VolumeError(`volume ${v.name}: source ${sourceKind(v)} is not supported by this kubelet`);
    }
  }
  return out;
}

function sourceKind(v: Volume): string {
  return Object.keys(v).find((k) => k !== 'name') ?? 'none';
}

/** CRI mounts of one container from its volumeMounts. */
export function containerMounts(c: Container, volumes: Map<string, string>): { containerPath: string; hostPath: string; readonly: boolean }[] {
  return (c.volumeMounts ?? []).map((m) => {
    const host = volumes.get(m.name);
    if (!host) throw new VolumeError(`container ${c.name}: volumeMount ${m.name} names no volume of the pod`);
    const hostPath = m.subPath ? join(host, safeRelative(m.subPath, 'subPath')) : host;
    if (m.subPath && !existsSync(hostPath)) mkdirSync(hostPath, { recursive: true });
    return { containerPath: m.mountPath, hostPath, readonly: m.readOnly === true };
  });
}

/** Removes the pod's volume directories (after its containers are gone). */
export function removePodVolumes(root: string, uid: string): void {
  rmSync(join(root, uid), { recursive: true, force: true });
}
