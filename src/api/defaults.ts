// Defaulting applied on create and update, before validation (mirrors the
// built-in defaults kubectl users see in `get -o yaml`).
import type { Container, PodSpec } from './core.js';
import type { KubeObject } from './meta.js';

type Obj = Record<string, unknown>;

function setIfMissing(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

function defaultContainer(c: Container): void {
  const cc = c as unknown as Obj;
  if (c.image !== undefined) {
    const tag = c.image.includes('@') ? 'digest' : (c.image.split('/').pop() ?? '').split(':')[1];
    setIfMissing(cc, 'imagePullPolicy', tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent');
  }
  setIfMissing(cc, 'terminationMessagePath', '/dev/termination-log');
  setIfMissing(cc, 'terminationMessagePolicy', 'File');
  setIfMissing(cc, 'resources', {});
  for (const p of c.ports ?? []) setIfMissing(p as unknown as Obj, 'protocol', 'TCP');
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (!probe) continue;
    const pr = probe as unknown as Obj;
    setIfMissing(pr, 'timeoutSeconds', 1);
    setIfMissing(pr, 'periodSeconds', 10);
    setIfMissing(pr, 'successThreshold', 1);
    setIfMissing(pr, 'failureThreshold', 3);
    if (probe.httpGet) setIfMissing(probe.httpGet as unknown as Obj, 'scheme', 'HTTP');
    if (probe.httpGet) setIfMissing(probe.httpGet as unknown as Obj, 'path', '/');
  }
}

/** Pod spec defaults (also applied inside templates). */
export function defaultPodSpec(spec: PodSpec | undefined, restartPolicy = 'Always'): void {
  if (!spec || typeof spec !== 'object') return;
  const s = spec as unknown as Obj;
  setIfMissing(s, 'restartPolicy', restartPolicy);
  setIfMissing(s, 'terminationGracePeriodSeconds', 30);
  setIfMissing(s, 'dnsPolicy', 'ClusterFirst');
  setIfMissing(s, 'securityContext', {});
  setIfMissing(s, 'schedulerName', 'default-scheduler');
  if (spec.serviceAccount && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount;
  for (const c of [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])]) {
    if (c && typeof c === 'object') defaultContainer(c);
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap) setIfMissing(v.configMap as Obj, 'defaultMode', 0o644);
    if (v.secret) setIfMissing(v.secret as Obj, 'defaultMode', 0o644);
    if (v.hostPath) setIfMissing(v.hostPath as Obj, 'type', '');
  }
}

function templateSpec(o: KubeObject): PodSpec | undefined {
  return ((o.spec as Obj | undefined)?.template as Obj | undefined)?.spec as PodSpec | undefined;
}

function spec(o: KubeObject): Obj {
  if (!o.spec || typeof o.spec !== 'object') o.spec = {};
  return o.spec as Obj;
}

const rolling = () => ({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });

const DEFAULTERS: Record<string, (o: KubeObject) => void> = {
  Namespace(o) {
    const s = spec(o);
    setIfMissing(s, 'finalizers', ['kubernetes']);
    o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name ?? '' };
  },
  Pod(o) {
    defaultPodSpec(o.spec as PodSpec);
    const sp = o.spec as Obj | undefined;
    if (sp && typeof sp === 'object') {
      // What the ServiceAccount admission plugin does for pods that name none.
      setIfMissing(sp, 'serviceAccountName', 'default');
      setIfMissing(sp, 'serviceAccount', sp.serviceAccountName);
      setIfMissing(sp, 'enableServiceLinks', true);
      setIfMissing(sp, 'priority', 0);
    }
  },
  Service(o) {
    const s = spec(o);
    setIfMissing(s, 'type', 'ClusterIP');
    setIfMissing(s, 'sessionAffinity', 'None');
    if (s.type !== 'ExternalName') setIfMissing(s, 'internalTrafficPolicy', 'Cluster');
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') setIfMissing(s, 'externalTrafficPolicy', 'Cluster');
    for (const p of (s.ports as Obj[] | undefined) ?? []) {
      setIfMissing(p, 'protocol', 'TCP');
      setIfMissing(p, 'targetPort', p.port);
    }
  },
  Endpoints(o) {
    for (const ss of (o.subsets as Obj[] | undefined) ?? []) for (const p of (ss.ports as Obj[] | undefined) ?? []) setIfMissing(p, 'protocol', 'TCP');
  },
  EndpointSlice(o) {
    for (const p of (o.ports as Obj[] | undefined) ?? []) setIfMissing(p, 'protocol', 'TCP');
  },
  Secret(o) {
    setIfMissing(o as Obj, 'type', 'Opaque');
    const sd = o.stringData as Record<string, string> | undefined;
    if (sd && typeof sd === 'object') {
      const data = (o.data as Record<string, string> | undefined) ?? {};
      for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      o.data = data;
      delete o.stringData;
    }
  },
  Deployment(o) {
    const s = spec(o);
    setIfMissing(s, 'replicas', 1);
    setIfMissing(s, 'strategy', rolling());
    const st = s.strategy as Obj;
    if (st.type === undefined) st.type = 'RollingUpdate';
    if (st.type === 'RollingUpdate') {
      setIfMissing(st, 'rollingUpdate', {});
      setIfMissing(st.rollingUpdate as Obj, 'maxUnavailable', '25%');
      setIfMissing(st.rollingUpdate as Obj, 'maxSurge', '25%');
    }
    setIfMissing(s, 'revisionHistoryLimit', 10);
    setIfMissing(s, 'progressDeadlineSeconds', 600);
    defaultPodSpec(templateSpec(o));
  },
  ReplicaSet(o) {
    setIfMissing(spec(o), 'replicas', 1);
    defaultPodSpec(templateSpec(o));
  },
  StatefulSet(o) {
    const s = spec(o);
    setIfMissing(s, 'replicas', 1);
    setIfMissing(s, 'podManagementPolicy', 'OrderedReady');
    setIfMissing(s, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    setIfMissing(s, 'revisionHistoryLimit', 10);
    defaultPodSpec(templateSpec(o));
  },
  DaemonSet(o) {
    const s = spec(o);
    setIfMissing(s, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    setIfMissing(s, 'revisionHistoryLimit', 10);
    defaultPodSpec(templateSpec(o));
  },
  Job(o) {
    const s = spec(o);
    setIfMissing(s, 'parallelism', 1);
    setIfMissing(s, 'completions', 1);
    setIfMissing(s, 'backoffLimit', 6);
    setIfMissing(s, 'completionMode', 'NonIndexed');
    setIfMissing(s, 'suspend', false);
    defaultPodSpec(templateSpec(o), 'Never');
  },
  CronJob(o) {
    const s = spec(o);
    setIfMissing(s, 'concurrencyPolicy', 'Allow');
    setIfMissing(s, 'suspend', false);
    setIfMissing(s, 'successfulJobsHistoryLimit', 3);
    setIfMissing(s, 'failedJobsHistoryLimit', 1);
    const js = (s.jobTemplate as Obj | undefined)?.spec as Obj | undefined;
    if (js) {
      setIfMissing(js, 'backoffLimit', 6);
      setIfMissing(js, 'completionMode', 'NonIndexed');
      defaultPodSpec((js.template as Obj | undefined)?.spec as PodSpec | undefined, 'Never');
    }
  },
  NetworkPolicy(o) {
    const s = spec(o);
    setIfMissing(s, 'podSelector', {});
    if (!s.policyTypes) s.policyTypes = s.egress ? ['Ingress', 'Egress'] : ['Ingress'];
    for (const dir of ['ingress', 'egress']) for (const r of (s[dir] as Obj[] | undefined) ?? []) for (const p of (r.ports as Obj[] | undefined) ?? []) setIfMissing(p, 'protocol', 'TCP');
  },
  HorizontalPodAutoscaler(o) {
    setIfMissing(spec(o), 'minReplicas', 1);
  },
  PersistentVolume(o) {
    const s = spec(o);
    setIfMissing(s, 'persistentVolumeReclaimPolicy', 'Retain');
    setIfMissing(s, 'volumeMode', 'Filesystem');
  },
  PersistentVolumeClaim(o) {
    setIfMissing(spec(o), 'volumeMode', 'Filesystem');
  },
  StorageClass(o) {
    setIfMissing(o as Obj, 'reclaimPolicy', 'Delete');
    setIfMissing(o as Obj, 'volumeBindingMode', 'Immediate');
  },
};

/** Applies the kind's defaults in place. */
export function applyDefaults(kind: string, o: KubeObject): void {
  DEFAULTERS[kind]?.(o);
}
