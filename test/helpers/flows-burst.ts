// A burst of flow events for overload tests and the benchmark: one process
// in a pod sends N unconnected UDP datagrams to a service without backends;
// the socket hook refuses each send and emits one drop event, so N sends are
// N events with no traffic on the wire.
import type { LbLab } from '../../src/demo/lab.js';
import { spawnInNetns } from '../../src/netns/index.js';

// CommonJS for `node -e`: argv = [node, host, port, count].
const BURST_SCRIPT = `
const dgram = require('node:dgram');
const [host, port, count] = process.argv.slice(1);
const n = Number(count);
const s = dgram.createSocket('udp4');
const buf = Buffer.from('x');
let sent = 0, done = 0, refused = 0;
function more() {
  const end = Math.min(n, sent + 500);
  for (; sent < end; sent++) s.send(buf, Number(port), host, (err) => {
    if (err) refused++;
    if (++done === n) { s.close(); process.stdout.write(JSON.stringify({ sent: n, refused }) + '\\n'); }
  });
  if (sent < n) setImmediate(more);
}
more();
`;

/** Sends `count` datagrams to host:port from a pod in the LB cgroup; resolves with how many the kernel refused. */
export async function udpBurst(lab: LbLab, host: string, port: number, count: number, from = 'client'): Promise<{ sent: number; refused: number; ms: number }> {
  const ns = lab.net.pods.find((p) => p.name === from)!.ns;
  const t0 = performance.now();
  const p = spawnInNetns(ns, process.execPath, ['-e', BURST_SCRIPT, host, String(port), String(count)], { cgroup: lab.cgroup });
  const st = await p.wait();
  if (st.code !== 0) throw new Error(`burst failed (${st.code}): ${st.stderr}`);
  return { ...(JSON.parse(st.stdout.trim()) as { sent: number; refused: number }), ms: performance.now() - t0 };
}
