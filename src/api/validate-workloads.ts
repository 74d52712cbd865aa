// Validation of pods, pod templates and the workload kinds that embed them.
import type { Container, PodSpec, PodTemplateSpec } from './core.js';
import type { KubeObject, LabelSelector } from './meta.js';
import { isDNS1123Label } from './names.js';
import { Errors, selectorMatches, validateIntOrPercent, validateLabelSelector, validateLabels, validateNonNegative, validatePort, validatePortName, validateProtocol } from './validation.js';

function validateContainer(errs: Errors, f: string, c: Container, names: Set<string>, requireImage: boolean): void {
  if (!c.name) errs.required(`${f}.name`);
  else if (!isDNS1123Label(c.name)) errs.invalid(`${f}.name`, c.name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
  else if (names.has(c.name)) errs.duplicate(`${f}.name`, c.name);
  else names.add(c.name);
  if (requireImage && !c.image) errs.required(`${f}.image`);
  const portNames = new Set<string>();
  for (const [i, p] of (c.ports ?? []).entries()) {
    const pf = `${f}.ports[${i}]`;
    validatePort(errs, `${pf}.containerPort`, p.containerPort);
    if (p.hostPort !== undefined) validatePort(errs, `${pf}.hostPort`, p.hostPort, true);
    validateProtocol(errs, `${pf}.protocol`, p.protocol);
    if (p.name !== undefined) {
      validatePortName(errs, `${pf}.name`, p.name);
      if (portNames.has(p.name)) errs.duplicate(`${pf}.name`, p.name);
      portNames.add(p.name);
    }
  }
  for (const [i, e] of (c.env ?? []).entries()) {
    if (!e.name) errs.required(`${f}.env[${i}].name`);
    else if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(e.name)) errs.invalid(`${f}.env[${i}].name`, e.name, "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit");
    if (e.value !== undefined && e.valueFrom) errs.invalid(`${f}.env[${i}].valueFrom`, '', 'may not be specified when `value` is not empty');
  }
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    if (!m.name) errs.required(`${f}.volumeMounts[${i}].name`);
    if (!m.mountPath) errs.required(`${f}.volumeMounts[${i}].mountPath`);
  }
  if (c.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) errs.notSupported(`${f}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
}

/** Validates a PodSpec at path f. */
export function validatePodSpec(errs: Errors, f: string, spec: PodSpec | undefined, allowedRestart = ['Always', 'OnFailure', 'Never']): void {
  if (!spec) return errs.required(f);
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errs.required(`${f}.containers`);
  const names = new Set<string>();
  for (const [i, c] of (spec.containers ?? []).entries()) validateContainer(errs, `${f}.containers[${i}]`, c, names, true);
  for (const [i, c] of (spec.initContainers ?? []).entries()) validateContainer(errs, `${f}.initContainers[${i}]`, c, names, true);
  const vols = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (!v.name) errs.required(`${f}.volumes[${i}].name`);
    else if (!isDNS1123Label(v.name)) errs.invalid(`${f}.volumes[${i}].name`, v.name, 'must be a DNS-1123 label');
    else if (vols.has(v.name)) errs.duplicate(`${f}.volumes[${i}].name`, v.name);
    else vols.add(v.name);
  }
  for (const [i, c] of [...(spec.containers ?? []), ...(spec.initContainers ?? [])].entries()) {
    for (const [j, m] of (c.volumeMounts ?? []).entries()) {
      if (m.name && !vols.has(m.name)) errs.notFound(`${f}.containers[${i}].volumeMounts[${j}].name`, m.name);
    }
  }
  if (spec.restartPolicy && !allowedRestart.includes(spec.restartPolicy)) errs.notSupported(`${f}.restartPolicy`, spec.restartPolicy, allowedRestart);
  validateNonNegative(errs, `${f}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds);
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds < 1) errs.invalid(`${f}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive');
  validateLabels(errs, `${f}.nodeSelector`, spec.nodeSelector);
  for (const [i, t] of (spec.tolerations ?? []).entries()) {
    if (t.operator && !['Exists', 'Equal'].includes(t.operator)) errs.notSupported(`${f}.tolerations[${i}].operator`, t.operator, ['Equal', 'Exists']);
    if (t.operator === 'Exists' && t.value) errs.invalid(`${f}.tolerations[${i}].operator`, t.operator, 'value must be empty when `operator` is \'Exists\'');
    if (t.effect && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)) errs.notSupported(`${f}.tolerations[${i}].effect`, t.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule']);
  }
}

export function validatePod(errs: Errors, o: KubeObject): void {
  validatePodSpec(errs, 'spec', o.spec as PodSpec);
}

/** Validates selector + template of a controller; the selector must select the template's labels. */
function validateSelectorTemplate(errs: Errors, spec: { selector?: LabelSelector; template?: PodTemplateSpec } | undefined, requireSelector: boolean, allowedRestart?: string[]): void {
  if (!spec) return errs.required('spec');
  if (!spec.selector) {
    if (requireSelector) errs.required('spec.selector');
  } else {
    validateLabelSelector(errs, 'spec.selector', spec.selector);
    const empty = !Object.keys(spec.selector.matchLabels ?? {}).length && !(spec.selector.matchExpressions ?? []).length;
    if (empty && requireSelector) errs.invalid('spec.selector', spec.selector, 'empty selector is invalid for deployment');
    if (spec.template && !selectorMatches(spec.selector, spec.template.metadata?.labels)) {
      errs.invalid('spec.template.metadata.labels', spec.template.metadata?.labels ?? {}, '`selector` does not match template `labels`');
    }
  }
  if (!spec.template) return errs.required('spec.template');
  validateLabels(errs, 'spec.template.metadata.labels', spec.template.metadata?.labels);
  validatePodSpec(errs, 'spec.template.spec', spec.template.spec, allowedRestart ?? ['Always']);
}

export function validateDeployment(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { replicas?: number; strategy?: { type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } } } & Parameters<typeof validateSelectorTemplate>[1];
  validateSelectorTemplate(errs, spec, true);
  validateNonNegative(errs, 'spec.replicas', spec?.replicas);
  const st = spec?.strategy;
  if (st?.type && !['RollingUpdate', 'Recreate'].includes(st.type)) errs.notSupported('spec.strategy.type', st.type, ['Recreate', 'RollingUpdate']);
  if (st?.type === 'Recreate' && st.rollingUpdate) errs.forbidden('spec.strategy.rollingUpdate', 'may not be specified when strategy `type` is \'Recreate\'');
  validateIntOrPercent(errs, 'spec.strategy.rollingUpdate.maxSurge', st?.rollingUpdate?.maxSurge);
  validateIntOrPercent(errs, 'spec.strategy.rollingUpdate.maxUnavailable', st?.rollingUpdate?.maxUnavailable);
  if (st?.rollingUpdate && isZero(st.rollingUpdate.maxSurge) && isZero(st.rollingUpdate.maxUnavailable)) errs.invalid('spec.strategy.rollingUpdate.maxUnavailable', st.rollingUpdate.maxUnavailable, 'may not be 0 when `maxSurge` is 0');
}

function isZero(v: unknown): boolean {
  return v === 0 || v === '0%';
}

export function validateReplicaSet(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { replicas?: number } & Parameters<typeof validateSelectorTemplate>[1];
  validateSelectorTemplate(errs, spec, true);
  validateNonNegative(errs, 'spec.replicas', spec?.replicas);
}

export function validateStatefulSet(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { replicas?: number; podManagementPolicy?: string } & Parameters<typeof validateSelectorTemplate>[1];
  validateSelectorTemplate(errs, spec, true);
  validateNonNegative(errs, 'spec.replicas', spec?.replicas);
}

export function validateDaemonSet(errs: Errors, o: KubeObject): void {
  validateSelectorTemplate(errs, o.spec as Parameters<typeof validateSelectorTemplate>[1], true);
}

export function validateJob(errs: Errors, o: KubeObject, prefix = 'spec'): void {
  const spec = o.spec as { template?: PodTemplateSpec; parallelism?: number; completions?: number; backoffLimit?: number } | undefined;
  if (!spec) return errs.required(prefix);
  if (!spec.template) return errs.required(`${prefix}.template`);
  validatePodSpec(errs, `${prefix}.template.spec`, spec.template.spec, ['OnFailure', 'Never']);
  if (spec.template.spec && !spec.template.spec.restartPolicy) errs.required(`${prefix}.template.spec.restartPolicy`);
  validateNonNegative(errs, `${prefix}.parallelism`, spec.parallelism);
  validateNonNegative(errs, `${prefix}.completions`, spec.completions);
  validateNonNegative(errs, `${prefix}.backoffLimit`, spec.backoffLimit);
}

export function validateCronJob(errs: Errors, o: KubeObject): void {
  const spec = o.spec as { schedule?: string; jobTemplate?: { spec?: unknown }; concurrencyPolicy?: string } | undefined;
  if (!spec) return errs.required('spec');
  if (!spec.schedule) errs.required('spec.schedule');
  else if (!/^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every .+)$/.test(spec.schedule) && spec.schedule.trim().split(/\s+/).length !== 5) errs.invalid('spec.schedule', spec.schedule, 'unparseable cron schedule: expected exactly 5 fields');
  if (spec.concurrencyPolicy && !['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy)) errs.notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']);
  if (!spec.jobTemplate) return errs.required('spec.jobTemplate');
  validateJob(errs, { metadata: {}, spec: spec.jobTemplate.spec }, 'spec.jobTemplate.spec');
}
