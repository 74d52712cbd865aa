// Validation of services, config, networking, RBAC, storage and the other
// non-workload kinds.
import type { ServiceSpec } from './core.js';
import type { KubeObject, LabelSelector } from './meta.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName } from './names.js';
import { Errors, validateIntOrPercent, validateLabelSelector, validateLabels, validateNonNegative, validatePort, validatePortName, validateProtocol } from './validation.js';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function validateDataKeys(errs: Errors, field: string, data: unknown): void {
  for (const k of Object.keys((data as Record<string, unknown>) ?? {})) {
    if (!CONFIG_KEY.test(k) || k.length > 253) errs.invalid(field, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  }
}

export function validateService(errs: Errors, o: KubeObject): void {
  const spec = o.spec as ServiceSpec | undefined;
  if (!spec) return errs.required('spec');
  const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
  if (spec.type && !types.includes(spec.type)) errs.notSupported('spec.type', spec.type, types);
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) errs.required('spec.externalName');
    else if (!isDNS1123Subdomain(spec.externalName.replace(/\.$/, ''))) errs.invalid('spec.externalName', spec.externalName, 'must be a DNS name');
  } else if (!spec.ports?.length && spec.clusterIP !== 'None') errs.required('spec.ports');
  const ports = spec.ports ?? [];
  const seen = new Set<string>();
  const names = new Set<string>();
  for (const [i, p] of ports.entries()) {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.required(`${f}.name`);
    if (p.name) {
      if (!isDNS1123Label(p.name)) errs.invalid(`${f}.name`, p.name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
      if (names.has(p.name)) errs.duplicate(`${f}.name`, p.name);
      names.add(p.name);
    }
    validatePort(errs, `${f}.port`, p.port);
    validateProtocol(errs, `${f}.protocol`, p.protocol);
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (seen.has(key)) errs.duplicate(f, { port: p.port, protocol: p.protocol ?? 'TCP' });
    seen.add(key);
    if (typeof p.targetPort === 'number') validatePort(errs, `${f}.targetPort`, p.targetPort);
    else if (typeof p.targetPort === 'string') validatePortName(errs, `${f}.targetPort`, p.targetPort);
    if (p.nodePort) {
      if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') errs.forbidden(`${f}.nodePort`, 'may not be used when `type` is \'ClusterIP\'');
      else validatePort(errs, `${f}.nodePort`, p.nodePort);
    }
  }
  validateLabels(errs, 'spec.selector', spec.selector);
  if (spec.sessionAffinity && !['None', 'ClientIP'].includes(spec.sessionAffinity)) errs.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']);
  if (spec.clusterIP && spec.clusterIP !== 'None' && !/^(\d{1,3}\.){3}\d{1,3}$|:/.test(spec.clusterIP)) errs.invalid('spec.clusterIP', spec.clusterIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
  for (const pol of ['externalTrafficPolicy', 'internalTrafficPolicy'] as const) {
    if (spec[pol] && !['Cluster', 'Local'].includes(spec[pol]!)) errs.notSupported(`spec.${pol}`, spec[pol], ['Cluster', 'Local']);
  }
}

export function validateConfigMap(errs: Errors, o: KubeObject): void {
  validateDataKeys(errs, 'data', o.data);
  validateDataKeys(errs, 'binaryData', o.binaryData);
  for (const k of Object.keys((o.data as object) ?? {})) if (k in ((o.binaryData as object) ?? {})) errs.invalid('data', k, 'duplicate of key present in binaryData');
}

export function validateSecret(errs: Errors, o: KubeObject): void {
  validateDataKeys(errs, 'data', o.data);
  for (const [k, v] of Object.entries((o.data as Record<string, unknown>) ?? {})) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64 encoded');
  }
  if (o.type === 'kubernetes.io/tls') for (const k of ['tls.crt', 'tls.key']) if (!(k in ((o.data as object) ?? {}))) errs.required(`data[${k}]`);
}

export function validateNamespace(errs: Errors, o: KubeObject): void {
  const fin = (o.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
  for (const [i, f] of fin.entries()) if (!isQualifiedName(f)) errs.invalid(`spec.finalizers[${i}]`, f, 'must be a qualified name');
}

export function validateNode(errs: Errors, o: KubeObject): void {
  for (const [i, t] of ((o.spec as { taints?: { key: string; effect: string }[] })?.taints ?? []).entries()) {
    if (!t.key) errs.required(`spec.taints[${i}].key`);
    if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)) errs.notSupported(`spec.taints[${i}].effect`, t.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule']);
  }
}

export function validateEvent(errs: Errors, o: KubeObject): void {
  const io = o.involvedObject as { namespace?: string } | undefined;
  if (!io) errs.required('involvedObject');
  else if (io.namespace && o.metadata.namespace && io.namespace !== o.metadata.namespace) errs.invalid('involvedObject.namespace', io.namespace, 'does not match event.namespace');
  if (o.type && !['Normal', 'Warning'].includes(o.type as string)) errs.notSupported('type', o.type, ['Normal', 'Warning']);
}

export function validateEndpoints(errs: Errors, o: KubeObject): void {
  for (const [i, s] of ((o.subsets as { addresses?: { ip?: string }[]; ports?: { port: number; protocol?: string }[] }[]) ?? []).entries()) {
    for (const [j, a] of (s.addresses ?? []).entries()) if (!a.ip) errs.required(`subsets[${i}].addresses[${j}].ip`);
    for (const [j, p] of (s.ports ?? []).entries()) {
      validatePort(errs, `subsets[${i}].ports[${j}].port`, p.port, true);
      validateProtocol(errs, `subsets[${i}].ports[${j}].protocol`, p.protocol);
    }
  }
}

export function validateEndpointSlice(errs: Errors, o: KubeObject): void {
  if (!['IPv4', 'IPv6', 'FQDN'].includes(o.addressType as string)) errs.notSupported('addressType', o.addressType, ['FQDN', 'IPv4', 'IPv6']);
  const eps = (o.endpoints as { addresses?: string[] }[]) ?? [];
  if (eps.length > 1000) errs.list.push({ type: 'FieldValueTooLong', field: 'endpoints', message: 'Too many: must have at most 1000 items' });
  for (const [i, e] of eps.entries()) {
    if (!e.addresses?.length) errs.required(`endpoints[${i}].addresses`, 'must contain at least 1 address');
    if ((e.addresses?.length ?? 0) > 100) errs.list.push({ type: 'FieldValueTooLong', field: `endpoints[${i}].addresses`, message: 'Too many: must have at most 100 items' });
  }
  for (const [i, p] of ((o.ports as { port?: number; protocol?: string; name?: string }[]) ?? []).entries()) {
    if (p.port !== undefined) validatePort(errs, `ports[${i}].port`, p.port, true);
    validateProtocol(errs, `ports[${i}].protocol`, p.protocol);
  }
}

type NPPeer = { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: { cidr?: string; except?: string[] } };
type NPRule = { ports?: { protocol?: string; port?: number | string; endPort?: number }[]; from?: NPPeer[]; to?: NPPeer[] };

const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/;

export function validateNetworkPolicy(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { podSelector?: LabelSelector; policyTypes?: string[]; ingress?: NPRule[]; egress?: NPRule[] } | undefined;
  if (!spec) return errs.required('spec');
  validateLabelSelector(errs, 'spec.podSelector', spec.podSelector);
  for (const [i, t] of (spec.policyTypes ?? []).entries()) if (!['Ingress', 'Egress'].includes(t)) errs.notSupported(`spec.policyTypes[${i}]`, t, ['Egress', 'Ingress']);
  for (const dir of ['ingress', 'egress'] as const) {
    for (const [i, r] of (spec[dir] ?? []).entries()) {
      const f = `spec.${dir}[${i}]`;
      for (const [j, p] of (r.ports ?? []).entries()) {
        validateProtocol(errs, `${f}.ports[${j}].protocol`, p.protocol);
        if (typeof p.port === 'number') validatePort(errs, `${f}.ports[${j}].port`, p.port);
        else if (typeof p.port === 'string') validatePortName(errs, `${f}.ports[${j}].port`, p.port);
        if (p.endPort !== undefined) {
          if (typeof p.port !== 'number') errs.required(`${f}.ports[${j}].port`, 'must be specified when endPort is specified');
          else if (p.endPort < p.port) errs.invalid(`${f}.ports[${j}].endPort`, p.endPort, 'must be greater than or equal to `port`');
        }
      }
      for (const [j, peer] of ((dir === 'ingress' ? r.from : r.to) ?? []).entries()) {
        const pf = `${f}.${dir === 'ingress' ? 'from' : 'to'}[${j}]`;
        const n = [peer.podSelector, peer.namespaceSelector, peer.ipBlock].filter(Boolean).length;
        if (n === 0) errs.required(pf, 'must specify a peer');
        if (peer.ipBlock && (peer.podSelector || peer.namespaceSelector)) errs.forbidden(pf, 'may not specify both ipBlock and another peer');
        validateLabelSelector(errs, `${pf}.podSelector`, peer.podSelector);
        validateLabelSelector(errs, `${pf}.namespaceSelector`, peer.namespaceSelector);
        if (peer.ipBlock) {
          if (!peer.ipBlock.cidr) errs.required(`${pf}.ipBlock.cidr`);
          else if (!CIDR.test(peer.ipBlock.cidr)) errs.invalid(`${pf}.ipBlock.cidr`, peer.ipBlock.cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
          for (const [k, e] of (peer.ipBlock.except ?? []).entries()) if (!CIDR.test(e)) errs.invalid(`${pf}.ipBlock.except[${k}]`, e, 'must be a valid CIDR value');
        }
      }
    }
  }
}

export function validateIngress(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { rules?: { http?: { paths?: { path?: string; pathType?: string }[] } }[] } | undefined;
  for (const [i, r] of (spec?.rules ?? []).entries()) {
    for (const [j, p] of (r.http?.paths ?? []).entries()) {
      if (!p.pathType) errs.required(`spec.rules[${i}].http.paths[${j}].pathType`);
      else if (!['Exact', 'Prefix', 'ImplementationSpecific'].includes(p.pathType)) errs.notSupported(`spec.rules[${i}].http.paths[${j}].pathType`, p.pathType, ['Exact', 'ImplementationSpecific', 'Prefix']);
      if (p.path && !p.path.startsWith('/') && p.pathType !== 'ImplementationSpecific') errs.invalid(`spec.rules[${i}].http.paths[${j}].path`, p.path, "must be an absolute path");
    }
  }
}

export function validateLease(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { leaseDurationSeconds?: number; leaseTransitions?: number } | undefined;
  if (spec?.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) errs.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0');
  validateNonNegative(errs, 'spec.leaseTransitions', spec?.leaseTransitions);
}

export function validateHPA(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number } | undefined;
  if (!spec) return errs.required('spec');
  if (!spec.scaleTargetRef?.kind) errs.required('spec.scaleTargetRef.kind');
  if (!spec.scaleTargetRef?.name) errs.required('spec.scaleTargetRef.name');
  if (spec.minReplicas !== undefined && spec.minReplicas < 1) errs.invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1');
  if (typeof spec.maxReplicas !== 'number' || spec.maxReplicas < 1) errs.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than 0');
  else if (spec.minReplicas !== undefined && spec.minReplicas > spec.maxReplicas) errs.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`');
}

export function validatePDB(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { minAvailable?: unknown; maxUnavailable?: unknown; selector?: LabelSelector } | undefined;
  if (spec?.minAvailable !== undefined && spec.maxUnavailable !== undefined) errs.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set');
  validateIntOrPercent(errs, 'spec.minAvailable', spec?.minAvailable);
  validateIntOrPercent(errs, 'spec.maxUnavailable', spec?.maxUnavailable);
  validateLabelSelector(errs, 'spec.selector', spec?.selector);
}

const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];

export function validatePV(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { capacity?: Record<string, unknown>; accessModes?: string[] } | undefined;
  if (!spec) return errs.required('spec');
  if (!spec.capacity?.storage) errs.required('spec.capacity', 'must specify storage capacity');
  if (!spec.accessModes?.length) errs.required('spec.accessModes');
  for (const [i, m] of (spec.accessModes ?? []).entries()) if (!ACCESS_MODES.includes(m)) errs.notSupported(`spec.accessModes[${i}]`, m, ACCESS_MODES);
}

export function validatePVC(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { accessModes?: string[]; resources?: { requests?: Record<string, unknown> }; selector?: LabelSelector } | undefined;
  if (!spec) return errs.required('spec');
  if (!spec.accessModes?.length) errs.required('spec.accessModes', 'at least 1 access mode is required');
  for (const [i, m] of (spec.accessModes ?? []).entries()) if (!ACCESS_MODES.includes(m)) errs.notSupported(`spec.accessModes[${i}]`, m, ACCESS_MODES);
  if (!spec.resources?.requests?.storage) errs.required('spec.resources[storage]');
  validateLabelSelector(errs, 'spec.selector', spec.selector);
}

export function validateStorageClass(errs: Errors, o: KubeObject): void {
  if (!o.provisioner) errs.required('provisioner');
  if (o.reclaimPolicy && !['Delete', 'Retain'].includes(o.reclaimPolicy as string)) errs.notSupported('reclaimPolicy', o.reclaimPolicy, ['Delete', 'Retain']);
  if (o.volumeBindingMode && !['Immediate', 'WaitForFirstConsumer'].includes(o.volumeBindingMode as string)) errs.notSupported('volumeBindingMode', o.volumeBindingMode, ['Immediate', 'WaitForFirstConsumer']);
}

export function validateRole(errs: Errors, o: KubeObject): void {
  for (const [i, r] of ((o.rules as { verbs?: string[]; resources?: string[]; nonResourceURLs?: string[]; apiGroups?: string[] }[]) ?? []).entries()) {
    if (!r.verbs?.length) errs.required(`rules[${i}].verbs`, 'verbs must contain at least one value');
    if (r.nonResourceURLs?.length && o.kind === 'Role') errs.invalid(`rules[${i}].nonResourceURLs`, r.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs');
    if (!r.nonResourceURLs?.length && r.apiGroups === undefined) errs.required(`rules[${i}].apiGroups`, 'resource rules must supply at least one api group');
  }
}

export function validateRoleBinding(errs: Errors, o: KubeObject): void {
  const ref = o.roleRef as { apiGroup?: string; kind?: string; name?: string } | undefined;
  if (!ref?.name) errs.required('roleRef.name');
  const kinds = o.kind === 'ClusterRoleBinding' ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (!ref?.kind || !kinds.includes(ref.kind)) errs.notSupported('roleRef.kind', ref?.kind ?? '', kinds);
  if (ref?.apiGroup !== 'rbac.authorization.k8s.io') errs.notSupported('roleRef.apiGroup', ref?.apiGroup ?? '', ['rbac.authorization.k8s.io']);
  for (const [i, s] of ((o.subjects as { kind?: string; name?: string; namespace?: string }[]) ?? []).entries()) {
    if (!s.name) errs.required(`subjects[${i}].name`);
    if (!['ServiceAccount', 'User', 'Group'].includes(s.kind ?? '')) errs.notSupported(`subjects[${i}].kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']);
    if (s.kind === 'ServiceAccount' && !s.namespace && o.kind === 'ClusterRoleBinding') errs.required(`subjects[${i}].namespace`);
  }
}

export function validateResourceQuota(errs: Errors, o: KubeObject): void {
  for (const [k, v] of Object.entries((o.spec as { hard?: Record<string, unknown> })?.hard ?? {})) {
    if (typeof v === 'string' && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[KMGTPE]i?|[munk])?$/.test(v)) errs.invalid(`spec.hard[${k}]`, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  }
}
