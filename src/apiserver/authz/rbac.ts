// RBAC authorization: evaluates Roles, ClusterRoles and their bindings from
// the store for every request (no cache, so a binding change applies at once).
// Members of system:masters are always allowed; every authenticated user may
// read discovery, OpenAPI, version and health endpoints.
import type { PolicyRule } from '../../api/apps.js';
import type { KubeObject } from '../../api/meta.js';
import type { Store } from '../../store/types.js';
import type { User } from '../authn.js';

/** What a request wants to do, in RBAC terms. */
export type Attributes =
  | { isResource: true; verb: string; apiGroup: string; resource: string; subresource?: string; namespace?: string; name?: string }
  | { isResource: false; verb: string; path: string };

export interface Decision {
  allowed: boolean;
  reason: string;
}

export interface Authorizer {
  authorize(user: User, attrs: Attributes): Promise<Decision>;
}

const PUBLIC_PATHS = [/^\/api$/, /^\/api\/v1$/, /^\/apis(\/[^/]+(\/[^/]+)?)?$/, /^\/openapi\//, /^\/openapi\/v[23]$/, /^\/version$/, /^\/healthz$/, /^\/livez$/, /^\/readyz$/];

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

function subjectMatches(s: Subject, user: User, bindingNs?: string): boolean {
  if (s.kind === 'User') return s.name === user.name;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  if (s.kind === 'ServiceAccount') return user.name === `system:serviceaccount:${s.namespace ?? bindingNs}:${s.name}`;
  return false;
}

function has(list: string[] | undefined, v: string): boolean {
  return !!list && (list.includes('*') || list.includes(v));
}

/** True if one rule allows the attributes. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.isResource) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, a.apiGroup)) return false;
  const target = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources ?? [];
  const resOk = resources.includes('*') || resources.includes(target) || (!!a.subresource && resources.includes(`*/${a.subresource}`));
  if (!resOk) return false;
  if (rule.resourceNames?.length) return !!a.name && rule.resourceNames.includes(a.name);
  return true;
}

/** Creates an authorizer reading RBAC objects from the store. */
export function createRbacAuthorizer(store: Store): Authorizer {
  const read = async (prefix: string): Promise<KubeObject[]> => (await store.list(prefix)).items.map((kv) => JSON.parse(kv.value) as KubeObject);
  const rulesOf = async (ref: { kind?: string; name?: string }, ns?: string): Promise<PolicyRule[]> => {
    const key = ref.kind === 'ClusterRole' ? `/registry/rbac.authorization.k8s.io/clusterroles/${ref.name}` : `/registry/rbac.authorization.k8s.io/roles/${ns}/${ref.name}`;
    try {
      const role = JSON.parse((await store.get(key)).value) as { rules?: PolicyRule[] };
      return role.rules ?? [];
    } catch {
      return [];
    }
  };
  return {
    async authorize(user, a) {
      if (user.groups.includes('system:masters')) return { allowed: true, reason: 'member of system:masters' };
      if (!a.isResource && (a.verb === 'get' || a.verb === 'head') && PUBLIC_PATHS.some((p) => p.test(a.path))) return { allowed: true, reason: 'public discovery endpoint' };
      const bindings: { b: KubeObject; ns?: string }[] = (await read('/registry/rbac.authorization.k8s.io/clusterrolebindings/')).map((b) => ({ b }));
      if (a.isResource && a.namespace) for (const b of await read(`/registry/rbac.authorization.k8s.io/rolebindings/${a.namespace}/`)) bindings.push({ b, ns: a.namespace });
      for (const { b, ns } of bindings) {
        const subjects = (b.subjects as Subject[] | undefined) ?? [];
        if (!subjects.some((s) => subjectMatches(s, user, ns))) continue;
        const rules = await rulesOf(b.roleRef as { kind?: string; name?: string }, ns);
        if (rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: `allowed by ${ns ? 'RoleBinding' : 'ClusterRoleBinding'} "${b.metadata.name}"` };
      }
      return { allowed: false, reason: '' };
    },
  };
}

/** The Forbidden message kube-apiserver prints. */
export function forbiddenMessage(user: User, a: Attributes): string {
  if (!a.isResource) return `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${a.resource}${a.apiGroup ? `.${a.apiGroup}` : ''}${a.name ? ` "${a.name}"` : ''} is forbidden: User "${user.name}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}"${where}`;
}
