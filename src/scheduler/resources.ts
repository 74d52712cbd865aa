// Resource quantities and the requests a pod places on a node: the
// Kubernetes quantity grammar, the init-container max rule with sidecars,
// pod overhead, and the non-zero defaults used only for scoring.
import type { Container, IntOrString, Pod, ResourceList } from './types.js';

export const ResourceCPU = 'cpu';
export const ResourceMemory = 'memory';
export const ResourcePods = 'pods';
export const ResourceEphemeralStorage = 'ephemeral-storage';

/** kube-scheduler's scoring defaults for containers that request nothing. */
export const DefaultMilliCPURequest = 100;
export const DefaultMemoryRequest = 200 * 1024 * 1024;

/** Requested or allocatable amounts: cpu in millicores, the rest in base units. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  pods: number;
  /** Extended and other named resources (nvidia.com/gpu, hugepages-2Mi, ...). */
  scalar: Map<string, number>;
}

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0, scalar: new Map() };
}

const binarySuffix: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimalSuffix: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const quantityPattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;
const parsed = new Map<string, number>();

/** Parses a Kubernetes quantity ("100m", "1.5Gi", "2e3") to a number; NaN when malformed. */
export function parseQuantity(q: IntOrString | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const hit = parsed.get(q);
  if (hit !== undefined) return hit;
  const m = quantityPattern.exec(q.trim());
  let v = NaN;
  if (m) {
    const base = Number(m[1]);
    if (m[2]) v = base * 10 ** Number(m[2].slice(1));
    else v = base * (m[3] ? (binarySuffix[m[3]] ?? decimalSuffix[m[3]]) : 1);
  }
  if (parsed.size < 10_000) parsed.set(q, v);
  return v;
}

/** Quantity in the unit the scheduler counts it in (cpu -> millicores, rounded up). */
export function toUnits(name: string, q: IntOrString | undefined): number {
  const v = parseQuantity(q);
  if (!Number.isFinite(v)) return 0;
  return name === ResourceCPU ? Math.ceil(v * 1000 - 1e-9) : Math.ceil(v - 1e-9);
}

function addList(r: Resources, list: ResourceList | undefined): void {
  if (!list) return;
  for (const name of Object.keys(list)) {
    const v = toUnits(name, list[name]);
    switch (name) {
      case ResourceCPU: r.milliCPU += v; break;
      case ResourceMemory: r.memory += v; break;
      case ResourceEphemeralStorage: r.ephemeralStorage += v; break;
      case ResourcePods: r.pods += v; break;
      default: r.scalar.set(name, (r.scalar.get(name) ?? 0) + v);
    }
  }
}

/** Resources from a ResourceList (node allocatable, pod overhead). */
export function fromList(list: ResourceList | undefined): Resources {
  const r = emptyResources();
  addList(r, list);
  return r;
}

export function addInto(into: Resources, r: Resources, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  into.pods += sign * r.pods;
  for (const [k, v] of r.scalar) {
    const next = (into.scalar.get(k) ?? 0) + sign * v;
    if (next === 0) into.scalar.delete(k);
    else into.scalar.set(k, next);
  }
}

function maxInto(into: Resources, r: Resources): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  const r = emptyResources();
  const req = c.resources?.requests;
  addList(r, req);
  if (nonZero) {
    if (req?.[ResourceCPU] === undefined) r.milliCPU = DefaultMilliCPURequest;
    if (req?.[ResourceMemory] === undefined) r.memory = DefaultMemoryRequest;
  }
  return r;
}

/**
 * What a pod requests: the larger of (sum of app containers + sidecars) and
 * each init container plus the sidecars started before it, plus overhead.
 * With nonZero, unset cpu/memory requests count as the scoring defaults.
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const total = emptyResources();
  for (const c of pod.spec.containers ?? []) addInto(total, containerRequests(c, nonZero));
  const sidecars = emptyResources();
  const initMax = emptyResources();
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addInto(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      const withSidecars = emptyResources();
      addInto(withSidecars, sidecars);
      addInto(withSidecars, r);
      maxInto(initMax, withSidecars);
    }
  }
  addInto(total, sidecars);
  maxInto(total, initMax);
  if (pod.spec.overhead) addList(total, pod.spec.overhead);
  total.pods = 0;
  return total;
}
