// PKI bootstrap: a CA, a serving certificate and an admin client certificate,
// generated once with the openssl CLI, plus the admin kubeconfig and token.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** Client identity the server presents to kubelets (logs proxy). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  adminToken: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function serial(): string {
  return '0x' + randomBytes(12).toString('hex');
}

async function issue(dir: string, name: string, subject: string, ext: string): Promise<void> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  await run('openssl', ['req', '-new', ...EC, '-keyout', key, '-out', csr, '-subj', subject]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-set_serial', serial(), '-days', '3650', '-sha256', '-extfile', extFile, '-out', join(dir, `${name}.crt`)]);
}

function sansFor(bind: string): string[] {
  const sans = new Set(['IP:127.0.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc']);
  if (/^[\d.]+$/.test(bind) || bind.includes(':')) sans.add(`IP:${bind}`);
  else sans.add(`DNS:${bind}`);
  return [...sans].sort();
}

/** Creates missing PKI files under DIR/pki (re-issuing the serving cert if the bind address changed). */
export async function ensurePki(dataDir: string, bind: string): Promise<Pki> {
  const dir = join(dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(join(dir, 'ca.crt'))) {
    await run('openssl', ['req', '-x509', '-new', ...EC, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '3650', '-sha256', '-subj', '/CN=ebbflow-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  }
  const sans = sansFor(bind).join(',');
  const sansFile = join(dir, 'server.sans');
  if (!existsSync(join(dir, 'server.crt')) || !existsSync(sansFile) || readFileSync(sansFile, 'utf8') !== sans) {
    await issue(dir, 'server', '/CN=ebbflow-apiserver', `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`);
    writeFileSync(sansFile, sans);
  }
  if (!existsSync(join(dir, 'kubelet-client.crt'))) {
    await issue(dir, 'kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  }
  if (!existsSync(join(dir, 'admin.crt'))) {
    await issue(dir, 'admin', '/O=system:masters/CN=admin', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  }
  const tokenFile = join(dataDir, 'admin-token');
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    caCert: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    adminCert: read('admin.crt'),
    adminKey: read('admin.key'),
    kubeletClientCert: read('kubelet-client.crt'),
    kubeletClientKey: read('kubelet-client.key'),
    adminToken: readFileSync(tokenFile, 'utf8').trim(),
  };
}

/**
 * Issues a client certificate signed by the cluster CA (CN = user, O = groups)
 * and writes a kubeconfig for it at `path`, e.g. for a node:
 * user "system:node:n1", groups ["system:nodes"].
 */
export async function writeClientKubeconfig(dataDir: string, path: string, server: string, user: string, groups: string[]): Promise<string> {
  if (!/^[A-Za-z0-9:._@-]+$/.test(user) || groups.some((g) => !/^[A-Za-z0-9:._@-]+$/.test(g))) throw new Error(`invalid certificate subject for ${user}`);
  const dir = join(dataDir, 'pki');
  const name = `client-${user.replace(/[^A-Za-z0-9]/g, '_')}`;
  const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
  await issue(dir, name, subject, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return writeConfig(path, read('ca.crt'), read(`${name}.crt`), read(`${name}.key`), server, user);
}

/** Writes DIR/kubeconfig for the admin user and returns its path. */
export function writeKubeconfig(dataDir: string, pki: Pki, server: string): string {
  return writeConfig(join(dataDir, 'kubeconfig'), pki.caCert, pki.adminCert, pki.adminKey, server, 'admin');
}

function writeConfig(path: string, ca: string, cert: string, key: string, server: string, user: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ebbflow', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } }],
    contexts: [{ name: 'ebbflow', context: { cluster: 'ebbflow', user } }],
    'current-context': 'ebbflow',
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}
