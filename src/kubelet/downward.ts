// Pure: the downward API values the kubelet writes into downwardAPI volume
// files and env vars: pod metadata fields (labels/annotations in the
// upstream key="value" format) and container resources scaled by a divisor,
// with unset limits falling back to the node's allocatable.
import type { Container, IntOrString, Pod } from '../api/core.js';
import { parseQuantity } from './quantity.js';

/** Node allocatable in base units (cores, bytes), for limits a container does not set. */
export interface Allocatable {
  cpu: number;
  memory: number;
  ephemeralStorage: number;
}

export class DownwardError extends Error {
  readonly code = 'KUBELET_ERR_DOWNWARD';
}

// Go's %q for the strings labels and annotations hold: JSON string escaping matches it for
// quotes, backslashes and \n \t \r \b \f; other control characters are rare in labels.
const quote = (s: string) => JSON.stringify(s);

/** A map as the upstream kubelet writes it: key="value" lines sorted by key, no trailing newline. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${quote(m![k]!)}`).join('\n');
}

/** A fieldRef value for a downwardAPI volume file (only metadata fields are allowed there). */
export function volumeFieldValue(pod: Pod, path: string): string {
  const bracket = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (bracket) return (bracket[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[bracket[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata.name ?? '';
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    case 'metadata.labels': return formatMap(pod.metadata.labels);
    case 'metadata.annotations': return formatMap(pod.metadata.annotations);
    default: throw new DownwardError(`unsupported fieldRef ${path} in a downwardAPI volume`);
  }
}

const isCpu = (resource: string) => resource.endsWith('cpu');

/** A resourceFieldRef value: ceil(quantity / divisor), cpu counted in millicores so 250m / 1m is exactly 250. */
export function resourceValue(pod: Pod, containerName: string | undefined, resource: string, divisor: IntOrString | undefined, node: Allocatable): string {
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  const c: Container | undefined = containerName ? all.find((x) => x.name === containerName) : pod.spec.containers[0];
  if (!c) throw new DownwardError(`resourceFieldRef: no container ${containerName ?? ''} in the pod`);
  const m = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/.exec(resource);
  if (!m) throw new DownwardError(`unsupported resourceFieldRef resource ${resource}`);
  const [, kind, name] = m as unknown as [string, 'limits' | 'requests', 'cpu' | 'memory' | 'ephemeral-storage'];
  const limit = parseQuantity(c.resources?.limits?.[name]);
  // API defaulting copies limits into unset requests; requests of nothing are 0.
  const request = parseQuantity(c.resources?.requests?.[name] ?? c.resources?.limits?.[name]);
  const fallback = name === 'cpu' ? node.cpu : name === 'memory' ? node.memory : node.ephemeralStorage;
  const value = kind === 'limits' ? (Number.isFinite(limit) ? limit : fallback) : Number.isFinite(request) ? request : 0;
  const d = parseQuantity(divisor ?? 1);
  if (!Number.isFinite(d) || d <= 0) throw new DownwardError(`invalid divisor ${String(divisor)}`);
  if (isCpu(name)) return String(Math.ceil(Math.round(value * 1000) / Math.round(d * 1000)));
  return String(Math.ceil(value / d));
}

export interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string; apiVersion?: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: IntOrString };
  mode?: number;
}

/** The files of a downwardAPI volume (or projection): path, content and mode. */
export function downwardFiles(pod: Pod, items: DownwardItem[] | undefined, defaultMode: number, node: Allocatable): { path: string; data: string; mode: number }[] {
  return (items ?? []).map((i) => {
    let data: string;
    if (i.fieldRef) data = volumeFieldValue(pod, i.fieldRef.fieldPath);
    else if (i.resourceFieldRef) data = resourceValue(pod, i.resourceFieldRef.containerName, i.resourceFieldRef.resource, i.resourceFieldRef.divisor, node);
    else throw new DownwardError(`downwardAPI item ${i.path} has neither fieldRef nor resourceFieldRef`);
    return { path: i.path, data, mode: i.mode ?? defaultMode };
  });
}
