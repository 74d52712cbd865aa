// Legacy token controller: a Secret of type kubernetes.io/service-account-token
// naming a ServiceAccount (annotation kubernetes.io/service-account.name)
// gets data.token (minted through the TokenRequest subresource with the
// longest lifetime the API allows, renewed when 90% of it has passed),
// ca.crt and namespace, and the account's uid annotation. Secrets whose
// account is gone, or was recreated with another uid, are deleted.
import type { KubeObject } from '../api/meta.js';
import { objectKey, splitKey } from '../client/cache.js';
import { isConflict, isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';

export const TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';
/** The TokenRequest API's upper bound on expirationSeconds (one year). */
const MAX_EXPIRATION_SECONDS = 365 * 86400;

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

/** iat and exp of a JWT (seconds), without verifying it: only to decide when to renew our own token. */
function tokenTimes(token: string | undefined): { iat: number; exp: number } | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString('utf8')) as { iat?: number; exp?: number };
    return typeof claims.iat === 'number' && typeof claims.exp === 'number' ? { iat: claims.iat, exp: claims.exp } : undefined;
  } catch {
    return undefined;
  }
}

export async function start(ctx: ControllerContext): Promise<Handle> {
  const ca = ctx.settings?.rootCA;
  const expirationSeconds = Math.min(ctx.settings?.legacyTokenExpirationSeconds ?? MAX_EXPIRATION_SECONDS, MAX_EXPIRATION_SECONDS);
  const saInf = ctx.informers.get<KubeObject>(resources.serviceaccounts);
  const secretInf = ctx.informers.get<Secret>(resources.secrets);
  const loop = createLoop(ctx, 'serviceaccount-token', reconcile);
  const isToken = (s: Secret) => s.type === TOKEN_SECRET_TYPE;
  const secretsOf = (sa: KubeObject) => secretInf.store.byNamespace(sa.metadata.namespace!).filter((s) => isToken(s) && s.metadata.annotations?.[SA_NAME_ANNOTATION] === sa.metadata.name);

  secretInf.on({ add: (s) => isToken(s) && loop.queue.add(objectKey(s)), update: (_, s) => isToken(s) && loop.queue.add(objectKey(s)) });
  const accountChanged = (sa: KubeObject) => {
    for (const s of secretsOf(sa)) loop.queue.add(objectKey(s));
  };
  saInf.on({ add: accountChanged, update: (_, sa) => accountChanged(sa), delete: accountChanged });

  /** The account from the cache, or from the API when the cache has not seen it yet. */
  async function account(ns: string, name: string): Promise<KubeObject | undefined> {
    const cached = saInf.store.getBy(ns, name);
    if (cached) return cached;
    try {
      return await ctx.client.get(resources.serviceaccounts, ns, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const secret = secretInf.store.getBy(namespace, name);
    if (!secret || !isToken(secret) || secret.metadata.deletionTimestamp) return;
    const saName = secret.metadata.annotations?.[SA_NAME_ANNOTATION];
    const wantUid = secret.metadata.annotations?.[SA_UID_ANNOTATION];
    const sa = saName ? await account(namespace, saName) : undefined;
    if (!sa || (wantUid && wantUid !== sa.metadata.uid)) {
      try {
        await ctx.client.delete(resources.secrets, namespace, name, { preconditions: { uid: secret.metadata.uid } });
        loop.log?.info({ secret: key, serviceAccount: saName }, 'deleted token secret of a missing service account');
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
      return;
    }

    const data = { ...(secret.data ?? {}) };
    const times = tokenTimes(unb64(data.token));
    const nowS = ctx.clock.now() / 1000;
    const renew = !times || nowS >= times.iat + (times.exp - times.iat) * 0.9;
    const needsCA = ca !== undefined && unb64(data['ca.crt']) !== ca;
    const needsNs = unb64(data.namespace) !== namespace;
    const needsUid = wantUid !== sa.metadata.uid;
    if (!renew && !needsCA && !needsNs && !needsUid) return;

    if (renew) {
      const tr = await ctx.client.post<{ status: { token: string } }>(resources.serviceaccounts, namespace, saName!, 'token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } });
      data.token = b64(tr.status.token);
    }
    if (ca !== undefined) data['ca.crt'] = b64(ca);
    data.namespace = b64(namespace);
    const annotations = { ...secret.metadata.annotations, [SA_UID_ANNOTATION]: sa.metadata.uid! };
    try {
      await ctx.client.update<Secret>(resources.secrets, { ...secret, metadata: { ...secret.metadata, annotations }, data });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  return loop.run([saInf, secretInf]);
}
