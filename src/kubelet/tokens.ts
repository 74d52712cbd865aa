// ServiceAccount tokens for projected volumes: one TokenRequest per (pod,
// service account, audience, lifetime), bound to the pod, cached and asked
// for again once 80% of its lifetime has passed (or it is a day old), as the
// upstream kubelet's token manager does.
import type { Pod } from '../api/core.js';

export interface TokenRequestSpec {
  audiences: string[];
  expirationSeconds: number;
  boundObjectRef: { apiVersion: 'v1'; kind: 'Pod'; name: string; uid: string };
}

/** POST serviceaccounts/<sa>/token; returns the token and its expiry (RFC 3339). */
export type TokenRequester = (namespace: string, serviceAccount: string, spec: TokenRequestSpec) => Promise<{ token: string; expirationTimestamp: string }>;

export interface CachedToken {
  token: string;
  issuedMs: number;
  expiresMs: number;
}

const DAY_MS = 86_400_000;

/** Pure: a token is renewed once 80% of its lifetime has passed, or after 24 h. */
export function refreshDue(t: CachedToken, nowMs: number): boolean {
  return nowMs >= t.issuedMs + 0.8 * (t.expiresMs - t.issuedMs) || nowMs - t.issuedMs > DAY_MS;
}

/** The pod's service account name (spec.serviceAccountName, the deprecated serviceAccount, else default). */
export function serviceAccountOf(pod: Pod): string {
  return pod.spec.serviceAccountName || pod.spec.serviceAccount || 'default';
}

export interface TokenManager {
  /** A valid token for the pod's service account; requests a new one when due. */
  get(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
  forget(uid: string): void;
}

export function createTokenManager(request: TokenRequester, clock: () => number = Date.now): TokenManager {
  const cache = new Map<string, CachedToken>();
  return {
    async get(pod, audience, expirationSeconds) {
      const sa = serviceAccountOf(pod);
      const key = `${pod.metadata.uid}/${sa}/${audience ?? ''}/${expirationSeconds}`;
      const cur = cache.get(key);
      const now = clock();
      if (cur && !refreshDue(cur, now)) return cur.token;
      const r = await request(pod.metadata.namespace ?? 'default', sa, {
        audiences: audience ? [audience] : [],
        expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name!, uid: pod.metadata.uid! },
      });
      const expiresMs = Date.parse(r.expirationTimestamp);
      const t = { token: r.token, issuedMs: now, expiresMs: Number.isFinite(expiresMs) ? expiresMs : now + expirationSeconds * 1000 };
      cache.set(key, t);
      return t.token;
    },
    forget(uid) {
      for (const k of [...cache.keys()]) if (k.startsWith(`${uid}/`)) cache.delete(k);
    },
  };
}
