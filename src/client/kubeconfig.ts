// Reads a kubeconfig (current context) into the connection settings the
// REST client needs: server URL, CA, client certificate or bearer token.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { ClientError } from './errors.js';

export interface ConnectionConfig {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  /** Sent as User-Agent, e.g. "ebbflow-controller-manager". */
  userAgent?: string;
}

interface NamedEntry {
  name: string;
  [k: string]: unknown;
}

function pick<T>(list: NamedEntry[] | undefined, name: string | undefined, field: string): T | undefined {
  const e = (list ?? []).find((x) => x.name === name) ?? (list ?? [])[0];
  return e ? (e[field] as T) : undefined;
}

/** Loads the current context of the kubeconfig at path. */
export function loadKubeconfig(path: string): ConnectionConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ClientError('CLIENT_ERR_CONFIG', `reading kubeconfig ${path}: ${(err as Error).message}`);
  }
  const base = dirname(path);
  const contexts = doc.contexts as NamedEntry[] | undefined;
  const ctx = pick<{ cluster?: string; user?: string }>(contexts, doc['current-context'] as string | undefined, 'context') ?? {};
  const cluster = pick<Record<string, string>>(doc.clusters as NamedEntry[], ctx.cluster, 'cluster');
  const user = pick<Record<string, string>>(doc.users as NamedEntry[], ctx.user, 'user') ?? {};
  if (!cluster?.server) throw new ClientError('CLIENT_ERR_CONFIG', `kubeconfig ${path}: no cluster server`);
  const data = (inline: string | undefined, file: string | undefined) => {
    if (inline) return Buffer.from(inline, 'base64').toString('utf8');
    if (file) return readFileSync(resolve(base, file), 'utf8');
    return undefined;
  };
  return {
    server: cluster.server,
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: data(user['client-certificate-data'], user['client-certificate']),
    key: data(user['client-key-data'], user['client-key']),
    token: user.token,
  };
}
