// Authentication: verified x509 client certificates (CN = user, O = groups)
// and static bearer tokens.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { timingSafeEqual } from 'node:crypto';

export interface User {
  name: string;
  groups: string[];
}

export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<User | undefined>;
}

/** Resolves a bearer token that is not a static token (e.g. a ServiceAccount JWT). */
export type TokenResolver = (token: string) => Promise<User | undefined>;

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Builds the authenticator for verified client certs and the given tokens. */
export function createAuthenticator(tokens: Record<string, User>, resolve?: TokenResolver): Authenticator {
  const entries = Object.entries(tokens);
  return {
    async authenticate(req) {
      const sock = req.socket as TLSSocket;
      if (sock.authorized) {
        const cert = sock.getPeerCertificate();
        const cn = asList(cert?.subject?.CN)[0];
        if (cn) return { name: cn, groups: [...asList(cert.subject.O), 'system:authenticated'] };
      }
      const auth = req.headers.authorization;
      if (auth && /^bearer /i.test(auth)) {
        const token = auth.slice(7).trim();
        for (const [t, u] of entries) if (sameToken(t, token)) return { name: u.name, groups: [...u.groups, 'system:authenticated'] };
        if (resolve) return resolve(token);
      }
      return undefined;
    },
  };
}
