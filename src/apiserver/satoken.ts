// ServiceAccount tokens: ES256 JWTs minted by the TokenRequest subresource
// (serviceaccounts/<name>/token) and verified by the authenticator, which
// also checks the ServiceAccount still exists with the same uid.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../api/meta.js';
import type { User } from './authn.js';

export const ISSUER = 'https://kubernetes.default.svc';

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
}

export interface TokenSigner {
  /** Mints a token for a ServiceAccount object. */
  mint(sa: KubeObject, audiences: string[], expirationSeconds: number, nowSeconds?: number): { token: string; expires: number };
  /** Verified claims, or undefined for a bad signature, expiry or audience. */
  verify(token: string, nowSeconds?: number): TokenClaims | undefined;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Loads (or creates) DIR/pki/sa.key and returns a signer for it. */
export function loadTokenSigner(dataDir: string): TokenSigner {
  const path = join(dataDir, 'pki', 'sa.key');
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const priv: KeyObject = createPrivateKey(readFileSync(path));
  const pub = createPublicKey(priv);
  const kid = b64(pub.export({ type: 'spki', format: 'der' }).subarray(-16));
  return {
    mint(sa, audiences, expirationSeconds, nowSeconds = Math.floor(Date.now() / 1000)) {
      const claims: TokenClaims = {
        iss: ISSUER,
        sub: `system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`,
        aud: audiences.length ? audiences : [ISSUER],
        iat: nowSeconds,
        nbf: nowSeconds,
        exp: nowSeconds + expirationSeconds,
        'kubernetes.io': { namespace: sa.metadata.namespace ?? '', serviceaccount: { name: sa.metadata.name ?? '', uid: sa.metadata.uid ?? '' } },
      };
      const head = `${b64(JSON.stringify({ alg: 'ES256', kid, typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`;
      const sig = sign('sha256', Buffer.from(head), { key: priv, dsaEncoding: 'ieee-p1363' });
      return { token: `${head}.${b64(sig)}`, expires: claims.exp };
    },
    verify(token, nowSeconds = Math.floor(Date.now() / 1000)) {
      const parts = token.split('.');
      if (parts.length !== 3) return undefined;
      try {
        const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString()) as { alg?: string };
        if (header.alg !== 'ES256') return undefined;
        const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
        if (!ok) return undefined;
        const c = JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as TokenClaims;
        if (c.iss !== ISSUER || typeof c.exp !== 'number' || c.exp <= nowSeconds || (c.nbf ?? 0) > nowSeconds + 60) return undefined;
        if (!Array.isArray(c.aud) || !c.aud.includes(ISSUER)) return undefined;
        return c;
      } catch {
        return undefined;
      }
    },
  };
}

/** The identity a verified token carries. */
export function tokenUser(c: TokenClaims): User {
  const ns = c['kubernetes.io'].namespace;
  return { name: c.sub, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] };
}
