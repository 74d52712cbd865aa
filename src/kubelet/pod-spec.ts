// Pure translation of a Pod into CRI configs: the sandbox config (metadata,
// hostname, log directory, namespaces, cgroup parent, port mappings) and a
// container config (command/args/env with $(VAR) expansion, working dir,
// log path), with the labels that let a restarted kubelet find its own.
import { podDnsConfig, type ClusterDnsSettings } from './dns.js';
import type { Container, EnvVar, IntOrString, Pod } from '../api/core.js';
import type { ContainerConfig, NamespaceOption, PodSandboxConfig } from './cri/types.js';
import { resourceValue, type Allocatable } from './downward.js';
import { parseQuantity } from './quantity.js';

export { parseQuantity };

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
/** Marks objects made by this kubelet, so it only ever removes its own. */
export const LABEL_MANAGED_BY = 'ebbflow.io/kubelet';

export interface SandboxOptions {
  /** cgroupfs parent of every sandbox and container (e.g. /ebbflow-test-x). */
  cgroupParent: string;
  /** Directory under which each pod gets <ns>_<name>_<uid>/ for container logs. */
  logRoot: string;
  /** Node name written into the managed-by label. */
  node: string;
  attempt: number;
  /** Cluster DNS for ClusterFirst pods (none: the node's resolver). */
  dns?: ClusterDnsSettings;
}

/** Pods run with their own network and IPC namespaces and a PID namespace per container, as the kubelet does for v1 pods. */
export function namespaceOptions(pod: Pod): NamespaceOption {
  return { network: pod.spec.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' };
}

/** The pod's log directory: <logRoot>/<namespace>_<name>_<uid>. */
export function podLogDirectory(logRoot: string, pod: Pod): string {
  return `${logRoot}/${pod.metadata.namespace ?? 'default'}_${pod.metadata.name}_${pod.metadata.uid}`;
}

/** The PodSandboxConfig for a pod. */
function dnsOf(pod: Pod, dns: ClusterDnsSettings | undefined): { dnsConfig?: PodSandboxConfig['dnsConfig'] } {
  const cfg = podDnsConfig(pod as Parameters<typeof podDnsConfig>[0], dns);
  return cfg ? { dnsConfig: cfg } : {};
}

export function sandboxConfig(pod: Pod, opts: SandboxOptions): PodSandboxConfig {
  const md = pod.metadata;
  const ports = pod.spec.containers.flatMap((c) => c.ports ?? []).filter((p) => p.hostPort);
  const hostname = pod.spec.hostname ?? md.name!;
  return {
    metadata: { name: md.name!, uid: md.uid!, namespace: md.namespace ?? 'default', attempt: opts.attempt },
    // Host-network pods share the node's UTS namespace too: runc refuses a hostname there.
    hostname: pod.spec.hostNetwork ? '' : hostname.slice(0, 63),
    logDirectory: podLogDirectory(opts.logRoot, pod),
    ...dnsOf(pod, opts.dns),
    portMappings: ports.map((p) => ({ protocol: p.protocol ?? 'TCP', containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIP ?? '' })),
    labels: { ...(md.labels ?? {}), [LABEL_POD_NAME]: md.name!, [LABEL_POD_NAMESPACE]: md.namespace ?? 'default', [LABEL_POD_UID]: md.uid!, [LABEL_MANAGED_BY]: opts.node },
    annotations: { ...(md.annotations ?? {}) },
    linux: { cgroupParent: opts.cgroupParent, securityContext: { namespaceOptions: namespaceOptions(pod) } },
  };
}

/** What env values may refer to: the pod as the API has it, plus the IPs known at start. */
export interface EnvContext {
  pod: Pod;
  podIP: string;
  hostIP: string;
  /** configMapKeyRef / secretKeyRef values, already fetched: `configmap/<name>/<key>` or `secret/<name>/<key>`. */
  refs: Map<string, string | undefined>;
  /** Node allocatable, for resourceFieldRef limits the container leaves unset (default: limits required). */
  allocatable?: Allocatable;
}

export class EnvError extends Error {
  readonly code = 'KUBELET_ERR_ENV';
}

function fieldValue(path: string, ctx: EnvContext): string {
  const { pod } = ctx;
  const bracket = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (bracket) return (bracket[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[bracket[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata.name ?? '';
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    case 'spec.nodeName': return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec.serviceAccountName ?? '';
    case 'status.podIP': return ctx.podIP;
    case 'status.podIPs': return ctx.podIP;
    case 'status.hostIP': case 'status.hostIPs': return ctx.hostIP;
    default: throw new EnvError(`unsupported fieldRef ${path}`);
  }
}

/** Replaces $(VAR) by earlier values; $$(VAR) stays literal $(VAR); unknown references stay as written. */
export function expand(s: string, vars: Map<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return vars.has(name!) ? vars.get(name!)! : m;
  });
}

/** The references a container's env needs fetched from the API (configmap/<name>/<key>, secret/<name>/<key>). */
export function envRefs(c: Container): { kind: 'configmap' | 'secret'; name: string; key: string; optional: boolean }[] {
  const out: { kind: 'configmap' | 'secret'; name: string; key: string; optional: boolean }[] = [];
  for (const e of c.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    const sec = e.valueFrom?.secretKeyRef;
    if (cm) out.push({ kind: 'configmap', name: cm.name, key: cm.key, optional: cm.optional === true });
    if (sec) out.push({ kind: 'secret', name: sec.name, key: sec.key, optional: sec.optional === true });
  }
  return out;
}

/** The container's environment, in order, with $(VAR) expansion; throws EnvError on what cannot be resolved. */
export function containerEnv(c: Container, ctx: EnvContext): { key: string; value: string }[] {
  const vars = new Map<string, string>();
  const value = (e: EnvVar): string | undefined => {
    if (e.value !== undefined) return expand(e.value, vars);
    const vf = e.valueFrom;
    if (!vf) return '';
    if (vf.fieldRef) return fieldValue(vf.fieldRef.fieldPath, ctx);
    const ref = vf.configMapKeyRef ? `configmap/${vf.configMapKeyRef.name}/${vf.configMapKeyRef.key}` : vf.secretKeyRef ? `secret/${vf.secretKeyRef.name}/${vf.secretKeyRef.key}` : undefined;
    if (ref) {
      const v = ctx.refs.get(ref);
      const optional = (vf.configMapKeyRef ?? vf.secretKeyRef)?.optional === true;
      if (v === undefined && !optional) throw new EnvError(`${ref.replace(/\/[^/]*$/, '')} has no key ${ref.split('/').pop()} (env ${e.name})`);
      return v;
    }
    if (vf.resourceFieldRef) {
      const r = vf.resourceFieldRef;
      try {
        return resourceValue(ctx.pod, r.containerName ?? c.name, r.resource, r.divisor, ctx.allocatable ?? { cpu: NaN, memory: NaN, ephemeralStorage: NaN });
      } catch (err) {
        throw new EnvError(`env ${e.name}: ${(err as Error).message}`);
      }
    }
    return '';
  };
  for (const e of c.env ?? []) {
    const v = value(e);
    if (v !== undefined) vars.set(e.name, v);
  }
  return [...vars].map(([key, v]) => ({ key, value: v }));
}

/** The ContainerConfig for one container of the pod. */
export function containerConfig(pod: Pod, c: Container, opts: { attempt: number; image: string; env: { key: string; value: string }[]; mounts?: { containerPath: string; hostPath: string; readonly: boolean }[]; node: string }): ContainerConfig {
  const vars = new Map(opts.env.map((e) => [e.key, e.value]));
  return {
    metadata: { name: c.name, attempt: opts.attempt },
    image: { image: opts.image },
    command: (c.command ?? []).map((s) => expand(s, vars)),
    args: (c.args ?? []).map((s) => expand(s, vars)),
    workingDir: c.workingDir ?? '',
    envs: opts.env,
    mounts: opts.mounts ?? [],
    logPath: `${c.name}/${opts.attempt}.log`,
    stdin: c.stdin === true,
    stdinOnce: c.stdinOnce === true,
    tty: c.tty === true,
    labels: { [LABEL_POD_NAME]: pod.metadata.name!, [LABEL_POD_NAMESPACE]: pod.metadata.namespace ?? 'default', [LABEL_POD_UID]: pod.metadata.uid!, [LABEL_CONTAINER_NAME]: c.name, [LABEL_MANAGED_BY]: opts.node },
    annotations: { 'io.kubernetes.container.restartCount': String(opts.attempt) },
    linux: { resources: linuxResources(c), securityContext: { namespaceOptions: namespaceOptions(pod) } },
  };
}

const CPU_PERIOD = 100_000;

/** CFS shares/quota from cpu requests/limits and the memory limit, as the kubelet maps them for cgroupfs. */
export function linuxResources(c: Container): NonNullable<NonNullable<ContainerConfig['linux']>['resources']> {
  const cpuLimit = parseQuantity(c.resources?.limits?.cpu);
  const cpuRequest = parseQuantity(c.resources?.requests?.cpu ?? c.resources?.limits?.cpu);
  const mem = parseQuantity(c.resources?.limits?.memory);
  return {
    cpuShares: Number.isFinite(cpuRequest) ? Math.max(2, Math.floor(cpuRequest * 1024)) : 2,
    ...(Number.isFinite(cpuLimit) ? { cpuPeriod: CPU_PERIOD, cpuQuota: Math.max(1000, Math.ceil(cpuLimit * CPU_PERIOD)) } : {}),
    ...(Number.isFinite(mem) ? { memoryLimitInBytes: Math.floor(mem) } : {}),
  };
}
