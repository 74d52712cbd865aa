// Reaching the container runtime's streaming server. containerd listens on
// 127.0.0.1 of the network namespace it runs in (the node namespace), which
// need not be the kubelet's: the namespace is found from the containerd
// process that serves our CRI socket, and a connection into it is a small
// child node process entered there with nsenter, relaying stdin/stdout.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';

/** The network namespace path of the process listening on the CRI socket; undefined when it is ours or unknown. */
export function runtimeNetns(criAddress: string): string | undefined {
  const own = safeReadlink('/proc/self/ns/net');
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    const i = argv.indexOf('--address');
    if (!argv[0]?.endsWith('containerd') || i < 0 || argv[i + 1] !== criAddress) continue;
    const ns = safeReadlink(`/proc/${e}/ns/net`);
    return ns && ns !== own ? `/proc/${e}/ns/net` : undefined;
  }
  return undefined;
}

function safeReadlink(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

// Runs inside the runtime's namespace: one TCP connection piped to stdio; why a dial failed goes to stderr.
const RELAY = `const [host, port] = process.argv.slice(1);
const s = require('net').connect(Number(port), host);
s.on('error', (e) => { process.stderr.write('dial tcp ' + host + ':' + port + ': ' + (e.code || e.message)); process.exit(1); });
process.stdin.pipe(s); s.pipe(process.stdout);
s.on('close', () => process.exit(0));`;

/** A byte stream to host:port, in netns when given (else directly). Dial errors surface as the stream's 'error'. */
export function dialIn(netns: string | undefined, host: string, port: number): Duplex {
  if (!netns) return connect(port, host);
  const child = spawn('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', RELAY, host, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let why = '';
  child.stdin!.on('error', () => undefined); // EPIPE once the relay is gone; the exit below reports why
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (why += d));
  const d = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  child.on('error', (err) => d.destroy(err));
  child.on('exit', (code) => {
    if (code) d.destroy(new Error(why || `stream relay exited with ${code}`));
  });
  d.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return d;
}
