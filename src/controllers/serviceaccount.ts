// Two small per-namespace controllers, as kube-controller-manager has them:
// - serviceaccount: every active namespace has a "default" ServiceAccount
//   (recreated if deleted), so pods without serviceAccountName can mount
//   their kube-api-access token;
// - root-ca-cert-publisher: every active namespace has the ConfigMap
//   kube-root-ca.crt holding the cluster CA (ca.crt), kept equal to it,
//   which the kube-api-access projected volume mounts next to the token.
import type { KubeObject } from '../api/meta.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';

interface NamespaceObj extends KubeObject {
  status?: { phase?: string };
}
interface ConfigMapObj extends KubeObject {
  data?: Record<string, string>;
}

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

const active = (ns: NamespaceObj | undefined) => ns !== undefined && !ns.metadata.deletionTimestamp && ns.status?.phase !== 'Terminating';

export async function start(ctx: ControllerContext): Promise<Handle> {
  const nsInf = ctx.informers.get<NamespaceObj>(resources.namespaces);
  const saInf = ctx.informers.get<KubeObject>(resources.serviceaccounts);
  const loop = createLoop(ctx, 'serviceaccount', reconcile);
  nsInf.on({ add: (n) => loop.queue.add(n.metadata.name!), update: (_, n) => loop.queue.add(n.metadata.name!) });
  saInf.on({ delete: (sa) => sa.metadata.name === 'default' && loop.queue.add(sa.metadata.namespace!) });

  async function reconcile(ns: string): Promise<ReconcileResult> {
    if (!active(nsInf.store.getBy(undefined, ns))) return;
    if (saInf.store.getBy(ns, 'default')) return;
    try {
      await ctx.client.create(resources.serviceaccounts, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    } catch (err) {
      if (isAlreadyExists(err) || isNotFound(err)) return;
      throw err;
    }
  }
  return loop.run([nsInf, saInf]);
}

export async function startRootCaPublisher(ctx: ControllerContext): Promise<Handle> {
  const ca = ctx.settings?.rootCA;
  const nsInf = ctx.informers.get<NamespaceObj>(resources.namespaces);
  const cmInf = ctx.informers.get<ConfigMapObj>(resources.configmaps);
  const loop = createLoop(ctx, 'root-ca-cert-publisher', reconcile);
  nsInf.on({ add: (n) => loop.queue.add(n.metadata.name!), update: (_, n) => loop.queue.add(n.metadata.name!) });
  const onCm = (cm: ConfigMapObj) => cm.metadata.name === ROOT_CA_CONFIGMAP && loop.queue.add(cm.metadata.namespace!);
  cmInf.on({ update: (_, cm) => onCm(cm), delete: onCm });

  async function reconcile(ns: string): Promise<ReconcileResult> {
    if (!ca || !active(nsInf.store.getBy(undefined, ns))) return;
    const cur = cmInf.store.getBy(ns, ROOT_CA_CONFIGMAP);
    if (cur?.data?.['ca.crt'] === ca) return;
    const body: ConfigMapObj = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } },
      data: { 'ca.crt': ca },
    };
    try {
      if (cur) await ctx.client.patch(resources.configmaps, ns, ROOT_CA_CONFIGMAP, { data: { 'ca.crt': ca } }, 'merge');
      else await ctx.client.create(resources.configmaps, ns, body);
    } catch (err) {
      if (isAlreadyExists(err)) return { requeueAfterMs: 100 };
      if (isNotFound(err)) return;
      throw err;
    }
  }
  return loop.run([nsInf, cmInf]);
}
