// `ebbflow server`: turns flags into an ApiServerConfig and runs the API
// server until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { start, type ApiServerConfig } from '../apiserver/server.js';
import { startControllerManager } from '../controllers/manager.js';
import { createLogger } from '../log/logger.js';
import { parseDatastore } from '../store/index.js';
import { connect } from '../client/client.js';
import { startClusterDns } from '../dns/index.js';

export const SERVER_USAGE = `Usage: ebbflow server [--data-dir DIR] [--bind ADDR] [--port N] [--datastore sqlite://PATH|etcd://h:p[,h:p]] [--token-auth-file FILE] [--advertise-address IP] [--listen-fd N] [--cluster-dns ADDR[:PORT]] [--cluster-dns-ip IP] [--cluster-domain DOMAIN] [--service-cidr CIDR] [--cluster-cidr CIDR] [--disable-controllers] [--log-level LEVEL]`;

/** Parses a kube-apiserver style token file: token,user,uid[,"group1,group2"] per line. */
export function parseTokenFile(text: string): Record<string, { user: string; groups: string[] }> {
  const out: Record<string, { user: string; groups: string[] }> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/);
    if (!m) throw new Error(`token file line ${i + 1}: expected token,user,uid[,"groups"]`);
    out[m[1]] = { user: m[2], groups: m[4] ? m[4].split(',').map((g) => g.trim()).filter(Boolean) : [] };
  }
  return out;
}

/** Parses server flags into a typed config (throws Error with a usage message on bad input). */
export interface ClusterDnsFlags {
  address: string;
  port: number;
  serviceIP: string;
  domain: string;
}

export function parseServerFlags(argv: string[]): ApiServerConfig & { logLevel: string; clusterCIDR: string; controllers: boolean; dns?: ClusterDnsFlags } {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string', default: '/var/lib/ebbflow/server' },
      bind: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '6443' },
      datastore: { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      'token-auth-file': { type: 'string' },
      'advertise-address': { type: 'string' },
      'service-cidr': { type: 'string', default: '10.96.0.0/12' },
      'cluster-cidr': { type: 'string', default: '10.244.0.0/16' },
      'disable-controllers': { type: 'boolean', default: false },
      'listen-fd': { type: 'string', multiple: true },
      'cluster-dns': { type: 'string' },
      'cluster-dns-ip': { type: 'string' },
      'cluster-domain': { type: 'string', default: 'cluster.local' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: not a port number\n${SERVER_USAGE}`);
  const dataDir = values['data-dir'] as string;
  const datastore = parseDatastore((values.datastore as string | undefined) ?? `sqlite://${join(dataDir, 'state.db')}`);
  const logLevel = values['log-level'] as string;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) throw new Error(`--log-level ${logLevel}: unknown level\n${SERVER_USAGE}`);
  const tokenFile = values['token-auth-file'] as string | undefined;
  const tokens = tokenFile ? parseTokenFile(readFileSync(tokenFile, 'utf8')) : undefined;
  const serviceCIDR = values['service-cidr'] as string;
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(serviceCIDR)) throw new Error(`--service-cidr ${serviceCIDR}: expected an IPv4 CIDR\n${SERVER_USAGE}`);
  const clusterCIDR = values['cluster-cidr'] as string;
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(clusterCIDR)) throw new Error(`--cluster-cidr ${clusterCIDR}: expected an IPv4 CIDR\n${SERVER_USAGE}`);
  const listenFds = ((values['listen-fd'] as string[] | undefined) ?? []).map((f) => {
    const fd = Number(f);
    if (!Number.isInteger(fd) || fd < 3) throw new Error(`--listen-fd ${f}: expected an inherited descriptor number >= 3\n${SERVER_USAGE}`);
    return fd;
  });
  let dns: ClusterDnsFlags | undefined;
  const dnsFlag = values['cluster-dns'] as string | undefined;
  if (dnsFlag) {
    const m = dnsFlag.match(/^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/);
    if (!m) throw new Error(`--cluster-dns ${dnsFlag}: expected an IPv4 address with an optional :port\n${SERVER_USAGE}`);
    // Like kubeadm: the DNS Service takes the tenth address of the service CIDR.
    const serviceIP = (values['cluster-dns-ip'] as string | undefined) ?? nthAddress(serviceCIDR, 10);
    dns = { address: m[1]!, port: m[2] ? Number(m[2]) : 53, serviceIP, domain: values['cluster-domain'] as string };
  }
  return {
    dns, listenFds, dataDir, bind: values.bind as string, port, datastore, logLevel, tokens, serviceCIDR, clusterCIDR,
    controllers: values['disable-controllers'] !== true, advertiseAddress: values['advertise-address'] as string | undefined,
  };
}

function nthAddress(cidr: string, n: number): string {
  const [ip] = cidr.split('/');
  const v = (ip!.split('.').reduce((a, o) => (a << 8) + Number(o), 0) + n) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}

/** Runs the API server from CLI flags; resolves after a clean stop on SIGTERM/SIGINT. */
export async function runServer(argv: string[]): Promise<void> {
  const { logLevel, clusterCIDR, controllers, dns: dnsFlags, ...config } = parseServerFlags(argv);
  const logger = createLogger({ level: logLevel as 'warn' });
  const handle = await start({ ...config, logger });
  // Controllers and the scheduler run in the same process, behind leader
  // election so several servers on one etcd keep a single active set.
  const manager = controllers
    ? await startControllerManager({ kubeconfig: handle.kubeconfigPath, logger, settings: { serviceCIDR: config.serviceCIDR, clusterCIDR, rootCA: readFileSync(join(config.dataDir, 'pki', 'ca.crt'), 'utf8') } })
    : undefined;
  const dnsClient = dnsFlags ? connect(handle.kubeconfigPath) : undefined;
  const dns = dnsFlags ? await startClusterDns({ client: dnsClient!, address: dnsFlags.address, port: dnsFlags.port, serviceIP: dnsFlags.serviceIP, domain: dnsFlags.domain, logger }) : undefined;
  process.stdout.write(`ebbflow server listening on ${handle.url}\nkubeconfig: ${handle.kubeconfigPath}\n${dns ? `cluster DNS on ${dnsFlags!.address}:${dns.server.port} (Service kube-system/kube-dns ${dnsFlags!.serviceIP})\n` : ''}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      Promise.resolve(dns?.stop()).then(() => dnsClient?.close()).then(() => manager?.stop()).then(() => handle.stop()).then(resolve, (err: unknown) => {
        logger.error({ err }, 'stop failed');
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
