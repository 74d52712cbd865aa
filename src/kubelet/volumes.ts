// Pod volumes the kubelet can provide on one node: emptyDir, hostPath
// (type-checked, hostpath.ts), configMap and secret (written once), and
// downwardAPI and projected (serviceAccountToken, configMap, secret,
// downwardAPI), whose dynamic files (metadata, tokens) refreshVolumes keeps
// current; turned into CRI mounts per container (mountPath, subPath,
// readOnly). Files are replaced by rename so a reader never sees half of one.
// Other sources are refused with a message the pod's events show.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { Container, Pod, Volume } from '../api/core.js';
import { downwardFiles, type Allocatable, type DownwardItem } from './downward.js';
import { checkHostPath } from './hostpath.js';

export class VolumeError extends Error {
  readonly code = 'KUBELET_ERR_VOLUME';
}

/** Fetches a ConfigMap's or Secret's data (Secret values already decoded); undefined when absent. */
export type DataSource = (namespace: string, kind: 'configmap' | 'secret', name: string) => Promise<Record<string, string | Buffer> | undefined>;

/** A ServiceAccount token for the pod (tokens.ts caches and renews). */
export type TokenSource = (pod: Pod, audience: string | undefined, expirationSeconds: number) => Promise<string>;

/** Where volume contents come from. */
export interface VolumeSources {
  getData: DataSource;
  /** TokenRequest for serviceAccountToken projections; without one they are refused. */
  getToken?: TokenSource;
  /** For resourceFieldRef limits a container leaves unset. */
  allocatable: Allocatable;
}

/** Where the standard kube-api-access-* projected volume is mounted. */
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Its CA comes from this ConfigMap, published per namespace; absent, ca.crt is skipped. */
const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

type KeyToPath = { key: string; path: string; mode?: number };
interface ProjectedSource {
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
  configMap?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardItem[] };
}
type Projected = { sources?: ProjectedSource[]; defaultMode?: number };
type DownwardVolume = { items?: DownwardItem[]; defaultMode?: number };

interface FileSpec {
  path: string;
  data: string | Buffer;
  mode: number;
}

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

/** Files of a ConfigMap/Secret projection (all keys, or the listed items). */
function dataFiles(data: Record<string, string | Buffer>, items: KeyToPath[] | undefined, mode: number, what: string): FileSpec[] {
  const files = items?.length ? items.map((i) => ({ key: i.key, path: i.path, mode: i.mode ?? mode })) : Object.keys(data).map((k) => ({ key: k, path: k, mode }));
  return files.map((f) => {
    if (!(f.key in data)) throw new VolumeError(`${what} has no key ${f.key}`);
    return { path: f.path, data: data[f.key]!, mode: f.mode };
  });
}

/** Writes files that differ from what is on disk (content or mode), each by rename; returns how many changed. */
function writeFiles(dir: string, files: FileSpec[]): number {
  let changed = 0;
  for (const f of files) {
    const target = join(dir, safeRelative(f.path, 'item path'));
    const data = typeof f.data === 'string' ? Buffer.from(f.data) : f.data;
    try {
      if ((statSync(target).mode & 0o7777) === f.mode && readFileSync(target).equals(data)) continue;
    } catch {
      // absent: write it
    }
    mkdirSync(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `..${f.path.split('/').pop()}.tmp`);
    writeFileSync(tmp, data);
    chmodSync(tmp, f.mode);
    renameSync(tmp, target);
    changed++;
  }
  return changed;
}

/** Builds a volume's first contents in a sibling dir and renames it into place, so a failure leaves nothing half-made. */
function writeOnce(dir: string, files: FileSpec[]): void {
  const tmp = `${dir}..tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFiles(tmp, files);
  renameSync(tmp, dir);
}

async function configData(pod: Pod, src: VolumeSources, kind: 'configmap' | 'secret', name: string, items: KeyToPath[] | undefined, optional: boolean, mode: number): Promise<FileSpec[]> {
  const data = await src.getData(pod.metadata.namespace ?? 'default', kind, name);
  if (!data) {
    if (optional) return [];
    throw new VolumeError(`${kind} "${name}" not found`);
  }
  return dataFiles(data, items, mode, `${kind} "${name}"`);
}

/** A projected volume's files; `dynamicOnly` leaves out configMap/secret (written once) for a refresh. */
async function projectedFiles(pod: Pod, p: Projected, src: VolumeSources, dynamicOnly: boolean): Promise<FileSpec[]> {
  const mode = p.defaultMode ?? 0o644;
  const out: FileSpec[] = [];
  for (const s of p.sources ?? []) {
    if (s.serviceAccountToken) {
      if (!src.getToken) throw new VolumeError('serviceAccountToken projections need the API server (TokenRequest)');
      const t = s.serviceAccountToken;
      out.push({ path: t.path, data: await src.getToken(pod, t.audience || undefined, t.expirationSeconds ?? 3600), mode });
    } else if (s.downwardAPI) {
      out.push(...downwardFiles(pod, s.downwardAPI.items, mode, src.allocatable));
    } else if (dynamicOnly) {
      continue;
    } else if (s.configMap) {
      const name = s.configMap.name ?? '';
      // The brief kube-api-access shape: its CA file is optional while no publisher made the ConfigMap.
      out.push(...await configData(pod, src, 'configmap', name, s.configMap.items, s.configMap.optional === true || name === ROOT_CA_CONFIGMAP, mode));
    } else if (s.secret) {
      out.push(...await configData(pod, src, 'secret', s.secret.name ?? '', s.secret.items, s.secret.optional === true, mode));
    } else {
      throw new VolumeError(`projected source ${Object.keys(s).join(',') || 'none'} is not supported by this kubelet`);
    }
  }
  return out;
}

const projectedOf = (v: Volume) => v.projected as Projected | undefined;
const downwardOf = (v: Volume) => v.downwardAPI as DownwardVolume | undefined;

async function prepareOne(pod: Pod, v: Volume, dir: string, src: VolumeSources): Promise<string> {
  if (v.emptyDir) {
    mkdirSync(dir, { recursive: true, mode: 0o777 });
    chmodSync(dir, 0o777);
    return dir;
  }
  if (v.hostPath) {
    checkHostPath(v.hostPath.path, v.hostPath.type);
    return v.hostPath.path;
  }
  if (existsSync(dir)) {
    // Written before: only the dynamic parts can change.
    await refreshOne(pod, v, dir, src);
    return dir;
  }
  if (v.configMap || v.secret) {
    const kind = v.configMap ? 'configmap' : 'secret';
    const name = v.configMap ? v.configMap.name ?? '' : v.secret!.secretName ?? '';
    const s = (v.configMap ?? v.secret)!;
    writeOnce(dir, await configData(pod, src, kind, name, s.items, s.optional === true, s.defaultMode ?? 0o644));
  } else if (downwardOf(v)) {
    const d = downwardOf(v)!;
    writeOnce(dir, downwardFiles(pod, d.items, d.defaultMode ?? 0o644, src.allocatable));
  } else if (projectedOf(v)) {
    writeOnce(dir, await projectedFiles(pod, projectedOf(v)!, src, false));
  } else {
    throw new VolumeError(`source ${sourceKind(v)} is not supported by this kubelet`);
  }
  return dir;
}

async function refreshOne(pod: Pod, v: Volume, dir: string, src: VolumeSources): Promise<number> {
  const d = downwardOf(v);
  if (d) return writeFiles(dir, downwardFiles(pod, d.items, d.defaultMode ?? 0o644, src.allocatable));
  const p = projectedOf(v);
  if (p) return writeFiles(dir, await projectedFiles(pod, p, src, true));
  return 0;
}

/** Creates every volume of the pod; returns volume name -> host path. Throws VolumeError (message as the FailedMount event words it). */
export async function prepareVolumes(pod: Pod, root: string, src: VolumeSources): Promise<Map<string, string>> {
  const base = podVolumeDir(root, pod.metadata.uid!);
  const out = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = join(base, safeRelative(v.name, 'volume name'));
    try {
      out.set(v.name, await prepareOne(pod, v, dir, src));
    } catch (err) {
      throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${(err as Error).message}`);
    }
  }
  return out;
}

/** Rewrites what changed in the pod's downwardAPI and projected volumes (labels, annotations, due tokens); returns the failures. */
export async function refreshVolumes(pod: Pod, root: string, src: VolumeSources): Promise<string[]> {
  const base = podVolumeDir(root, pod.metadata.uid!);
  const failures: string[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (!downwardOf(v) && !projectedOf(v)) continue;
    const dir = join(base, v.name);
    if (!existsSync(dir)) continue;
    try {
      await refreshOne(pod, v, dir, src);
    } catch (err) {
      failures.push(`volume ${v.name}: ${(err as Error).message}`);
    }
  }
  return failures;
}

function sourceKind(v: Volume): string {
  return Object.keys(v).find((k) => k !== 'name') ?? 'none';
}

/** Whether the volume is the standard service account projection (kube-api-access-<suffix> with a token source). */
export function isServiceAccountVolume(v: Volume): boolean {
  return v.name.startsWith('kube-api-access-') && (projectedOf(v)?.sources ?? []).some((s) => s.serviceAccountToken);
}

/** CRI mounts of one container from its volumeMounts (plus the service account volume at its standard path when the container does not mount it itself). */
export function containerMounts(c: Container, volumes: Map<string, string>, pod?: Pod): { containerPath: string; hostPath: string; readonly: boolean }[] {
  const mounts = (c.volumeMounts ?? []).map((m) => {
    const host = volumes.get(m.name);
    if (!host) throw new VolumeError(`container ${c.name}: volumeMount ${m.name} names no volume of the pod`);
    const hostPath = m.subPath ? join(host, safeRelative(m.subPath, 'subPath')) : host;
    if (m.subPath && !existsSync(hostPath)) mkdirSync(hostPath, { recursive: true });
    return { containerPath: m.mountPath, hostPath, readonly: m.readOnly === true };
  });
  const sa = pod?.spec.automountServiceAccountToken === false ? undefined : pod?.spec.volumes?.find(isServiceAccountVolume);
  if (sa && volumes.has(sa.name) && !mounts.some((m) => normalize(m.containerPath) === SERVICE_ACCOUNT_MOUNT)) {
    mounts.push({ containerPath: SERVICE_ACCOUNT_MOUNT, hostPath: volumes.get(sa.name)!, readonly: true });
  }
  return mounts;
}

/** Removes the pod's volume directories (after its containers are gone). */
export function removePodVolumes(root: string, uid: string): void {
  rmSync(join(root, uid), { recursive: true, force: true });
}
