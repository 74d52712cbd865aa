// kubectl exec, non-interactive: the kubelet's /exec/<ns>/<pod>/<container>
// WebSocket upgrade (channel.k8s.io v5/v4 framing: one byte of channel,
// 1 stdout, 2 stderr, 3 status) answered by one CRI ExecSync. Interactive
// sessions (stdin, tty), attach and port-forward go to the runtime's
// streaming server instead (src/kubelet/streaming.ts).
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One unmasked server-to-client binary frame (or close frame with opcode 0x8). */
export function wsFrame(payload: Buffer, opcode = 0x2): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  })()]);
  return Buffer.concat([head, payload]);
}

const channel = (ch: number, data: Buffer | string) => wsFrame(Buffer.concat([Buffer.from([ch]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));

/** The Status kubectl reads from channel 3 (exit code in details.causes). */
export function execStatus(exitCode: number, message?: string): object {
  if (exitCode === 0 && !message) return { metadata: {}, status: 'Success' };
  if (message) return { metadata: {}, status: 'Failure', message, reason: 'InternalError' };
  return {
    metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command, exit status ${exitCode}`,
    reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export type ExecRunner = (ns: string, pod: string, container: string, cmd: string[]) => Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }>;

/** Completes the upgrade and runs the command; always ends the socket. */
export async function serveExec(req: IncomingMessage, socket: Duplex, run: ExecRunner): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://kubelet');
  const m = /^\/exec\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const proto = EXEC_PROTOCOLS.find((p) => offered.includes(p));
  const key = req.headers['sec-websocket-key'];
  if (!m || !proto || typeof key !== 'string' || String(req.headers.upgrade).toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nexpected a WebSocket upgrade (v5/v4.channel.k8s.io) on /exec/<namespace>/<pod>/<container>\n');
    return;
  }
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${proto}\r\n\r\n`);
  socket.on('data', () => undefined); // the client's frames (stdin close, pings) are not needed
  socket.on('error', () => undefined);
  const q = url.searchParams;
  const cmd = q.getAll('command');
  const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
  let status: object;
  if (q.get('tty') === 'true' || q.get('tty') === '1' || q.get('stdin') === 'true' || q.get('stdin') === '1') {
    status = execStatus(1, 'interactive exec (stdin/tty) is not supported by the ebbflow kubelet; run the command without -i/-t');
  } else if (cmd.length === 0) {
    status = execStatus(1, 'no command given');
  } else {
    try {
      const r = await run(ns, pod, container, cmd);
      if (r.stdout.length) socket.write(channel(1, r.stdout));
      if (r.stderr.length) socket.write(channel(2, r.stderr));
      status = execStatus(r.exitCode);
    } catch (err) {
      status = execStatus(1, (err as Error).message);
    }
  }
  socket.write(channel(3, JSON.stringify(status)));
  socket.end(wsFrame(Buffer.from([0x03, 0xe8]), 0x8));
}
