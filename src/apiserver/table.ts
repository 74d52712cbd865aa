// Table output (meta.k8s.io/v1 Table) with kubectl-like columns per kind.
import type { KubeObject } from '../api/meta.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  cell(o: KubeObject): string | number;
}

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Kubernetes-style short age: 5s, 3m, 2d4h, 3y. */
export function humanAge(ts: string | undefined, nowMs = Date.now()): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((nowMs - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name ?? '' };
const age: Column = { name: 'Age', type: 'string', cell: (o) => humanAge(o.metadata.creationTimestamp) };
const col = (n: string, cell: (o: Any) => string | number, priority = 0, type: Column['type'] = 'string'): Column => ({ name: n, type, priority, cell: (o) => cell(o as Any) });
const joinOr = (v: unknown[] | undefined, none = '<none>') => (v && v.length ? v.join(',') : none);
const selectorString = (sel: Any | undefined) => {
  if (!sel) return '<none>';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
  return parts.length ? parts.join(',') : '<none>';
};
const containers = (tpl: Any | undefined) => joinOr((tpl?.spec?.containers ?? []).map((c: Any) => c.name));
const images = (tpl: Any | undefined) => joinOr((tpl?.spec?.containers ?? []).map((c: Any) => c.image));

function podStatus(p: Any): string {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  let reason = p.status?.reason ?? p.status?.phase ?? 'Unknown';
  for (const cs of p.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
  }
  return reason;
}

function servicePorts(s: Any): string {
  const ports = (s.spec?.ports ?? []).map((p: Any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`);
  return joinOr(ports);
}

function nodeStatus(n: Any): string {
  const ready = (n.status?.conditions ?? []).find((c: Any) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  if (n.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

function nodeRoles(n: Any): string {
  const roles = Object.keys(n.metadata?.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return joinOr(roles);
}

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    name,
    col('Ready', (p) => `${(p.status?.containerStatuses ?? []).filter((c: Any) => c.ready).length}/${(p.spec?.containers ?? []).length}`),
    col('Status', podStatus),
    col('Restarts', (p) => (p.status?.containerStatuses ?? []).reduce((a: number, c: Any) => a + (c.restartCount ?? 0), 0), 0, 'integer'),
    age,
    col('IP', (p) => p.status?.podIP ?? '<none>', 1),
    col('Node', (p) => p.spec?.nodeName ?? '<none>', 1),
    col('Nominated Node', (p) => p.status?.nominatedNodeName ?? '<none>', 1),
    col('Readiness Gates', (p) => joinOr((p.spec?.readinessGates ?? []).map((g: Any) => g.conditionType)), 1),
  ],
  Deployment: [
    name,
    col('Ready', (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`),
    col('Up-to-date', (d) => d.status?.updatedReplicas ?? 0, 0, 'integer'),
    col('Available', (d) => d.status?.availableReplicas ?? 0, 0, 'integer'),
    age,
    col('Containers', (d) => containers(d.spec?.template), 1),
    col('Images', (d) => images(d.spec?.template), 1),
    col('Selector', (d) => selectorString(d.spec?.selector), 1),
  ],
  ReplicaSet: [
    name,
    col('Desired', (r) => r.spec?.replicas ?? 0, 0, 'integer'),
    col('Current', (r) => r.status?.replicas ?? 0, 0, 'integer'),
    col('Ready', (r) => r.status?.readyReplicas ?? 0, 0, 'integer'),
    age,
    col('Containers', (r) => containers(r.spec?.template), 1),
    col('Images', (r) => images(r.spec?.template), 1),
    col('Selector', (r) => selectorString(r.spec?.selector), 1),
  ],
  StatefulSet: [name, col('Ready', (s) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 0}`), age, col('Containers', (s) => containers(s.spec?.template), 1), col('Images', (s) => images(s.spec?.template), 1)],
  DaemonSet: [
    name,
    col('Desired', (d) => d.status?.desiredNumberScheduled ?? 0, 0, 'integer'),
    col('Current', (d) => d.status?.currentNumberScheduled ?? 0, 0, 'integer'),
    col('Ready', (d) => d.status?.numberReady ?? 0, 0, 'integer'),
    col('Up-to-date', (d) => d.status?.updatedNumberScheduled ?? 0, 0, 'integer'),
    col('Available', (d) => d.status?.numberAvailable ?? 0, 0, 'integer'),
    col('Node Selector', (d) => joinOr(Object.entries(d.spec?.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`))),
    age,
  ],
  Job: [name, col('Status', (j) => ((j.status?.conditions ?? []).find((c: Any) => c.status === 'True')?.type ?? 'Running')), col('Completions', (j) => `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`), col('Duration', (j) => (j.status?.startTime ? humanAge(j.status.startTime, j.status.completionTime ? Date.parse(j.status.completionTime) : Date.now()) : '')), age],
  CronJob: [name, col('Schedule', (c) => c.spec?.schedule ?? ''), col('Timezone', (c) => c.spec?.timeZone ?? '<none>'), col('Suspend', (c) => (c.spec?.suspend ? 'True' : 'False')), col('Active', (c) => (c.status?.active ?? []).length, 0, 'integer'), col('Last Schedule', (c) => (c.status?.lastScheduleTime ? humanAge(c.status.lastScheduleTime) : '<none>')), age],
  Service: [
    name,
    col('Type', (s) => s.spec?.type ?? 'ClusterIP'),
    col('Cluster-IP', (s) => s.spec?.clusterIP || '<none>'),
    col('External-IP', (s) => joinOr([...(s.spec?.externalIPs ?? []), ...(s.status?.loadBalancer?.ingress ?? []).map((i: Any) => i.ip ?? i.hostname)], s.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>')),
    col('Port(s)', servicePorts),
    age,
    col('Selector', (s) => joinOr(Object.entries(s.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`)), 1),
  ],
  Endpoints: [name, col('Endpoints', (e) => joinOr((e.subsets ?? []).flatMap((s: Any) => (s.addresses ?? []).flatMap((a: Any) => (s.ports ?? [{}]).map((p: Any) => (p.port ? `${a.ip}:${p.port}` : a.ip)))))), age],
  EndpointSlice: [name, col('AddressType', (e) => e.addressType ?? ''), col('Ports', (e) => joinOr((e.ports ?? []).map((p: Any) => p.port ?? ''), '<unset>')), col('Endpoints', (e) => joinOr((e.endpoints ?? []).flatMap((x: Any) => x.addresses ?? []), '<unset>')), age],
  ConfigMap: [name, col('Data', (c) => Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, 0, 'integer'), age],
  Secret: [name, col('Type', (s) => s.type ?? 'Opaque'), col('Data', (s) => Object.keys(s.data ?? {}).length, 0, 'integer'), age],
  ServiceAccount: [name, col('Secrets', (s) => (s.secrets ?? []).length, 0, 'integer'), age],
  Namespace: [name, col('Status', (n) => n.status?.phase ?? 'Active'), age],
  Node: [
    name,
    col('Status', nodeStatus),
    col('Roles', nodeRoles),
    age,
    col('Version', (n) => n.status?.nodeInfo?.kubeletVersion ?? ''),
    col('Internal-IP', (n) => (n.status?.addresses ?? []).find((a: Any) => a.type === 'InternalIP')?.address ?? '<none>', 1),
    col('External-IP', (n) => (n.status?.addresses ?? []).find((a: Any) => a.type === 'ExternalIP')?.address ?? '<none>', 1),
    col('OS-Image', (n) => n.status?.nodeInfo?.osImage ?? '<unknown>', 1),
    col('Kernel-Version', (n) => n.status?.nodeInfo?.kernelVersion ?? '<unknown>', 1),
    col('Container-Runtime', (n) => n.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>', 1),
  ],
  Event: [col('Last Seen', (e) => humanAge(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp)), col('Type', (e) => e.type ?? ''), col('Reason', (e) => e.reason ?? ''), col('Object', (e) => `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`), col('Message', (e) => e.message ?? '')],
  NetworkPolicy: [name, col('Pod-Selector', (n) => (selectorString(n.spec?.podSelector) === '<none>' ? '<none>' : selectorString(n.spec?.podSelector))), age],
  Ingress: [name, col('Class', (i) => i.spec?.ingressClassName ?? '<none>'), col('Hosts', (i) => joinOr((i.spec?.rules ?? []).map((r: Any) => r.host ?? '*'), '*')), col('Address', (i) => joinOr((i.status?.loadBalancer?.ingress ?? []).map((x: Any) => x.ip ?? x.hostname), '')), col('Ports', (i) => (i.spec?.tls?.length ? '80, 443' : '80')), age],
  Lease: [name, col('Holder', (l) => l.spec?.holderIdentity ?? ''), age],
  HorizontalPodAutoscaler: [name, col('Reference', (h) => `${h.spec?.scaleTargetRef?.kind}/${h.spec?.scaleTargetRef?.name}`), col('Targets', hpaTargets), col('MinPods', (h) => h.spec?.minReplicas ?? 1, 0, 'integer'), col('MaxPods', (h) => h.spec?.maxReplicas ?? 0, 0, 'integer'), col('Replicas', (h) => h.status?.currentReplicas ?? 0, 0, 'integer'), age],
  PersistentVolume: [name, col('Capacity', (p) => p.spec?.capacity?.storage ?? ''), col('Access Modes', (p) => (p.spec?.accessModes ?? []).map(abbrevMode).join(',')), col('Reclaim Policy', (p) => p.spec?.persistentVolumeReclaimPolicy ?? ''), col('Status', (p) => p.status?.phase ?? ''), col('Claim', (p) => (p.spec?.claimRef ? `${p.spec.claimRef.namespace}/${p.spec.claimRef.name}` : '')), col('StorageClass', (p) => p.spec?.storageClassName ?? ''), age],
  PersistentVolumeClaim: [name, col('Status', (p) => p.status?.phase ?? ''), col('Volume', (p) => p.spec?.volumeName ?? ''), col('Capacity', (p) => p.status?.capacity?.storage ?? ''), col('Access Modes', (p) => (p.status?.accessModes ?? []).map(abbrevMode).join(',')), col('StorageClass', (p) => p.spec?.storageClassName ?? ''), age],
  StorageClass: [name, col('Provisioner', (s) => s.provisioner ?? ''), col('ReclaimPolicy', (s) => s.reclaimPolicy ?? ''), col('VolumeBindingMode', (s) => s.volumeBindingMode ?? ''), col('AllowVolumeExpansion', (s) => String(s.allowVolumeExpansion ?? false)), age],
  Role: [name, col('Created At', (r) => r.metadata?.creationTimestamp ?? '')],
  ClusterRole: [name, col('Created At', (r) => r.metadata?.creationTimestamp ?? '')],
  RoleBinding: [name, col('Role', (r) => `${r.roleRef?.kind}/${r.roleRef?.name}`), age],
  ClusterRoleBinding: [name, col('Role', (r) => `${r.roleRef?.kind}/${r.roleRef?.name}`), age],
  PodDisruptionBudget: [name, col('Min Available', (p) => (p.spec?.minAvailable ?? 'N/A') as string), col('Max Unavailable', (p) => (p.spec?.maxUnavailable ?? 'N/A') as string), col('Allowed Disruptions', (p) => p.status?.disruptionsAllowed ?? 0, 0, 'integer'), age],
  ResourceQuota: [name, age, col('Request', (r) => Object.entries(r.status?.hard ?? r.spec?.hard ?? {}).map(([k, v]) => `${k}: ${r.status?.used?.[k] ?? 0}/${v}`).join(', '))],
};

function abbrevMode(m: string): string {
  return ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' } as Record<string, string>)[m] ?? m;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: { name: string; type: string; format: string; description: string; priority: number }[];
  rows: { cells: (string | number)[]; object: unknown }[];
}

/** Renders objects as a Table; includeObject selects the row payload (None/Metadata/Object). */
export function toTable(kind: string, objs: KubeObject[], meta: Table['metadata'], includeObject = 'Metadata'): Table {
  const cols = COLUMNS[kind] ?? [name, age];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.name, priority: c.priority ?? 0 })),
    rows: objs.map((o) => ({
      cells: cols.map((c) => {
        try {
          return c.cell(o);
        } catch {
          return '<error>';
        }
      }),
      object: includeObject === 'None' ? undefined : includeObject === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

/** kubectl's TARGETS column of an HPA: "cpu: 75%/50%" per metric, at most two then "+ N more...". */
export function hpaTargets(h: Any): string {
  const metrics: Any[] = h.spec?.metrics ?? (h.spec?.targetCPUUtilizationPercentage !== undefined
    ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: h.spec.targetCPUUtilizationPercentage } } }]
    : []);
  if (!metrics.length) return '<none>';
  const current: Any[] = h.status?.currentMetrics ?? (h.status?.currentCPUUtilizationPercentage !== undefined
    ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: h.status.currentCPUUtilizationPercentage } } }]
    : []);
  const unknown = '<unknown>';
  const one = (m: Any): string => {
    const kind = m.type as string;
    const src = m[kind === 'ContainerResource' ? 'containerResource' : (kind ?? '').charAt(0).toLowerCase() + (kind ?? '').slice(1)] ?? {};
    const cur = current.find((c) => c.type === kind && (kind === 'Resource' || kind === 'ContainerResource' ? c[kind === 'Resource' ? 'resource' : 'containerResource']?.name === src.name : true));
    const curSrc = cur ? cur[kind === 'ContainerResource' ? 'containerResource' : kind.charAt(0).toLowerCase() + kind.slice(1)]?.current ?? {} : {};
    const t = src.target ?? {};
    const prefix = kind === 'Resource' || kind === 'ContainerResource' ? `${src.name}: ` : '';
    if (t.type === 'Utilization' || t.averageUtilization !== undefined) return `${prefix}${curSrc.averageUtilization ?? unknown}${curSrc.averageUtilization !== undefined ? '%' : ''}/${t.averageUtilization}%`;
    if (t.type === 'AverageValue' || t.averageValue !== undefined) return `${prefix}${curSrc.averageValue ?? unknown}/${t.averageValue}`;
    return `${prefix}${curSrc.value ?? unknown}/${t.value ?? unknown}`;
  };
  const shown = metrics.slice(0, 2).map(one).join(', ');
  return metrics.length > 2 ? `${shown} + ${metrics.length - 2} more...` : shown;
}
