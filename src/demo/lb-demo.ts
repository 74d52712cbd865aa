// `ebbflow demo lb`: builds a node with a client and three web pods in
// network namespaces, programs a ClusterIP Service into the eBPF dataplane
// and shows, with real traffic, what the dataplane does. Removes everything
// it created at the end, also when interrupted.
import { METRIC, readCounter } from '../dataplane/maps/metrics.js';
import { numberToIpv4 } from '../dataplane/ip.js';
import { createLbLab, service, slice, type ClientResult, type LbLab } from './lab.js';

export interface LbDemoConfig {
  out: (line: string) => void;
}

const VIP = '10.96.0.10';
const BACKENDS = ['web-1', 'web-2', 'web-3'];

function spread(r: ClientResult): string {
  const parts = Object.entries(r.backends).sort().map(([b, n]) => `${b}=${n}`);
  const errs = Object.entries(r.errors).map(([e, n]) => `${e}=${n}`);
  return `${parts.join(' ') || 'none'}${errs.length ? `  errors: ${errs.join(' ')}` : ''}`;
}

/** Runs the demo end to end; resolves when everything is cleaned up. */
export async function runLbDemo(config: LbDemoConfig): Promise<void> {
  const say = config.out;
  say('ebbflow Service load-balancing demo');
  say('building a node namespace with pods client, web-1, web-2, web-3 (namespaces ebbflow-demo-*)');
  const lab: LbLab = await createLbLab({ prefix: 'ebbflow-demo', backends: BACKENDS, podNet: '10.244.0' });
  const stop = () => void lab.teardown().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const all = BACKENDS.map((b) => ({ ip: lab.ip(b) }));
    await lab.table.fullSync([service('web', VIP)], [slice('web', all)]);
    say(`Service default/web: ClusterIP ${VIP} ports 80/TCP 53/UDP -> ${BACKENDS.map((b) => `${b} ${lab.ip(b)}:8080`).join(', ')}`);
    say('services map (VIP:port/proto slot -> backend):');
    for (const [k, v] of lab.dp.lb.services.entries().sort((a, b) => a[0].port - b[0].port || a[0].slot - b[0].slot)) {
      const what = k.slot === 0 ? `service id ${v.revNatId}, ${v.count} backends` : `backend ${v.backendId}`;
      say(`  ${numberToIpv4(k.address)}:${k.port}/${k.proto === 6 ? 'TCP' : 'UDP'} slot ${k.slot} -> ${what}`);
    }

    say('');
    say('1. socket-level LB: client in the pods cgroup, 30 TCP connections to the ClusterIP');
    let r = await lab.client('tcp', VIP, 80, 30, true);
    say(`   backends: ${spread(r)}; the app saw its peer as ${Object.keys(r.peers).join(', ')}`);
    say('2. tc-level LB: client outside the cgroup, packets translated on its veth with conntrack');
    r = await lab.client('tcp', VIP, 80, 30, false);
    say(`   backends: ${spread(r)}; peer seen ${Object.keys(r.peers).join(', ')}`);
    say('3. UDP datagrams to the ClusterIP');
    r = await lab.client('udp', VIP, 53, 30, true);
    say(`   backends: ${spread(r)}; replies came from ${Object.keys(r.peers).join(', ')}`);

    say('4. sessionAffinity: ClientIP');
    lab.table.setService(service('web', VIP, { sessionAffinity: 'ClientIP' }));
    await lab.table.flush();
    r = await lab.client('tcp', VIP, 80, 20, true);
    say(`   backends: ${spread(r)} (one backend for this client)`);
    lab.table.setService(service('web', VIP));

    say('5. web-1 starts terminating while a connection to it is open');
    lab.table.setEndpointSlice(slice('web', [{ ip: lab.ip('web-1') }]));
    await lab.table.flush();
    const held = await lab.hold(VIP, 80, 2000, true);
    lab.table.setEndpointSlice(slice('web', [
      { ip: lab.ip('web-1'), ready: false, serving: true, terminating: true },
      { ip: lab.ip('web-2') }, { ip: lab.ip('web-3') },
    ]));
    await lab.table.flush();
    r = await lab.client('tcp', VIP, 80, 20, true);
    const h = await held.result;
    say(`   new connections: ${spread(r)}; the open connection kept answering from: ${spread(h)}`);

    say('6. a Service with no ready endpoints');
    lab.table.setEndpointSlice(slice('web', []));
    await lab.table.flush();
    const t0 = Date.now();
    r = await lab.client('tcp', VIP, 80, 3, true);
    const t1 = Date.now();
    const tc = await lab.client('tcp', VIP, 80, 3, false);
    say(`   socket path: ${spread(r)} in ${t1 - t0} ms; tc path (ICMP unreachable): ${spread(tc)} in ${Date.now() - t1} ms`);

    say('');
    say('dataplane counters:');
    for (const [name, idx] of Object.entries(METRIC)) {
      say(`  ${name.padEnd(22)} ${readCounter(lab.dp.metrics, idx).packets}`);
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await lab.teardown();
    say('cleaned up: namespaces, cgroup and BPF pins removed');
  }
}
