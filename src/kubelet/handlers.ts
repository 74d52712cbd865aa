// The three handler actions probes and lifecycle hooks share: exec through
// CRI ExecSync, tcpSocket and httpGet against the pod IP from the node's
// network namespace (the pods' network is reachable only there), each with
// a timeout and a message saying why it failed.
import { spawn } from 'node:child_process';
import type { Container, IntOrString, Probe } from '../api/core.js';
import type { CriClient } from './cri/client.js';

/** The action part of a Probe or a lifecycle handler. */
export type Handler = Pick<Probe, 'exec' | 'httpGet' | 'tcpSocket'> & { sleep?: { seconds: number } };

export interface HandlerResult {
  ok: boolean;
  /** Why it failed (command output, HTTP status, dial error); empty on success. */
  message: string;
}

export interface HandlerRunner {
  /**
   * Runs one action. `hook` (lifecycle) counts any HTTP answer as success, as
   * the kubelet does for hooks; probes need a 2xx/3xx status.
   */
  run(h: Handler, c: Container, containerId: string, podIP: string | undefined, timeoutMs: number, mode: 'probe' | 'hook'): Promise<HandlerResult>;
}

/** A named or numeric port of the container; 0 when the name is unknown. */
export function resolvePort(c: Container, port: IntOrString): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort ?? 0;
}

// A child node process does the network check so it can run inside the node namespace.
// Exit 0 = success; otherwise stdout says why.
const CHECK = `const [kind, host, port, path, headers, ms, mode] = process.argv.slice(1);
const fail = (m) => { process.stdout.write(m, () => process.exit(1)); };
setTimeout(() => fail('timeout after ' + ms + 'ms'), Number(ms));
if (kind === 'tcp') { const s = require('net').connect(Number(port), host, () => { s.destroy(); process.exit(0); }); s.on('error', (e) => fail('dial tcp ' + host + ':' + port + ': ' + (e.code || e.message))); }
else {
  const url = kind + '://' + (host.includes(':') ? '[' + host + ']' : host) + ':' + port + path;
  require(kind).get({ host, port: Number(port), path, headers: JSON.parse(headers), rejectUnauthorized: false, timeout: Number(ms) }, (r) => {
    r.resume();
    if (mode === 'hook' || (r.statusCode >= 200 && r.statusCode < 400)) process.exit(0);
    fail('HTTP probe failed with statuscode: ' + r.statusCode);
  }).on('error', (e) => fail('Get "' + url + '": ' + (e.code || e.message)));
}`;

function netCheck(netns: string | undefined, kind: 'tcp' | 'http' | 'https', host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number, mode: string): Promise<HandlerResult> {
  const args = ['-e', CHECK, kind, host, String(port), path, JSON.stringify(headers), String(timeoutMs), mode];
  const argv = netns ? ['nsenter', `--net=${netns}`, '--', process.execPath, ...args] : [process.execPath, ...args];
  return new Promise((resolve) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const kill = setTimeout(() => p.kill('SIGKILL'), timeoutMs + 2000);
    p.on('error', (err) => resolve({ ok: false, message: err.message }));
    p.on('close', (code) => {
      clearTimeout(kill);
      resolve({ ok: code === 0, message: code === 0 ? '' : out || `check exited with ${code}` });
    });
  });
}

/** Handler actions for one kubelet; `netns` is the node namespace path (undefined: the kubelet's own). */
export function createHandlerRunner(cri: CriClient, netns: string | undefined): HandlerRunner {
  return {
    async run(h, c, containerId, podIP, timeoutMs, mode) {
      if (h.exec?.command?.length) {
        try {
          const r = await cri.execSync(containerId, h.exec.command, Math.max(1, Math.ceil(timeoutMs / 1000)));
          const output = `${r.stdout.toString('utf8')}${r.stderr.toString('utf8')}`;
          if (r.exitCode === 0) return { ok: true, message: '' };
          return { ok: false, message: mode === 'hook' ? `command '${h.exec.command.join(' ')}' exited with ${r.exitCode}: ${output}` : output };
        } catch (err) {
          return { ok: false, message: (err as Error).message };
        }
      }
      if (h.sleep) {
        await new Promise((r) => setTimeout(r, Math.min(timeoutMs, h.sleep!.seconds * 1000)));
        return { ok: true, message: '' };
      }
      if (h.tcpSocket) {
        const host = h.tcpSocket.host ?? podIP;
        if (!host) return { ok: false, message: 'pod has no IP yet' };
        return netCheck(netns, 'tcp', host, resolvePort(c, h.tcpSocket.port), '', {}, timeoutMs, mode);
      }
      if (h.httpGet) {
        const host = h.httpGet.host ?? podIP;
        if (!host) return { ok: false, message: 'pod has no IP yet' };
        const headers = Object.fromEntries((h.httpGet.httpHeaders ?? []).map((x) => [x.name, x.value]));
        const scheme = h.httpGet.scheme?.toUpperCase() === 'HTTPS' ? 'https' : 'http';
        const path = h.httpGet.path ? (h.httpGet.path.startsWith('/') ? h.httpGet.path : `/${h.httpGet.path}`) : '/';
        return netCheck(netns, scheme, host, resolvePort(c, h.httpGet.port), path, headers, timeoutMs, mode);
      }
      return { ok: true, message: '' };
    },
  };
}
