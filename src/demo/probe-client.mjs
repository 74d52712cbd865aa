// Test client: makes N short TCP exchanges or UDP round trips to HOST:PORT
// and prints one JSON summary: which backend answered how often, the peer
// address the application saw, the client address each backend saw
// (sources), and error codes. Bounded by count and time.
// usage: node probe-client.mjs tcp|udp|udp-connected HOST PORT COUNT [TIMEOUT_MS]
//        node probe-client.mjs hold HOST PORT MS   (one connection, a line every 50 ms)
//        node probe-client.mjs matrix TIMEOUT_MS '[[id, "tcp"|"udp", host, port], ...]'
//          (all probes at once; prints {"results": {id: true|false}})
import net from 'node:net';
import dgram from 'node:dgram';

const [mode, host, portArg, nArg, timeoutArg] = process.argv.slice(2);
const port = Number(portArg);
const n = Number(nArg);
const tcpTimeout = Number(timeoutArg ?? 3000);
const udpTimeout = Number(timeoutArg ?? 2000);
const deadline = Date.now() + 30_000;
const out = { backends: {}, peers: {}, sources: {}, errors: {}, ok: 0 };
const count = (o, k) => (o[k] = (o[k] ?? 0) + 1);
// A reply is "<backend> <client addr>:<port> <echo>": count the address per backend.
const countSource = (reply) => {
  const [name, from] = reply.split(' ');
  if (from) count((out.sources[name] ??= {}), from.slice(0, from.lastIndexOf(':')));
};

function tcpOnce() {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let data = '';
    const timer = setTimeout(() => { count(out.errors, 'TIMEOUT'); s.destroy(); resolve(); }, tcpTimeout);
    s.setEncoding('utf8');
    s.on('connect', () => { count(out.peers, `${s.remoteAddress}:${s.remotePort}`); s.write('hello\n'); });
    s.on('data', (d) => {
      data += d;
      if (data.includes('\n')) {
        clearTimeout(timer);
        count(out.backends, data.split(' ')[0]);
        countSource(data);
        out.ok++;
        s.end();
        resolve();
      }
    });
    s.on('error', (e) => { clearTimeout(timer); count(out.errors, e.code ?? e.message); resolve(); });
  });
}

function udpOnce(connected) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => { count(out.errors, 'TIMEOUT'); s.close(); resolve(); }, udpTimeout);
    s.on('message', (msg, rinfo) => {
      clearTimeout(timer);
      count(out.backends, msg.toString().split(' ')[0]);
      countSource(msg.toString());
      count(out.peers, `${rinfo.address}:${rinfo.port}`);
      out.ok++;
      s.close();
      resolve();
    });
    s.on('error', (e) => { clearTimeout(timer); count(out.errors, e.code ?? e.message); s.close(); resolve(); });
    if (connected) {
      s.connect(port, host, (err) => {
        if (err) { clearTimeout(timer); count(out.errors, err.code); s.close(); return resolve(); }
        s.send('hello');
      });
    } else {
      s.send('hello', port, host);
    }
  });
}

async function hold(ms) {
  // One long-lived connection: reports which backend answered each line.
  await new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setEncoding('utf8');
    let buf = '';
    let tick;
    const stop = setTimeout(() => { clearInterval(tick); s.destroy(); resolve(); }, ms);
    s.on('connect', () => { tick = setInterval(() => s.write('ping\n'), 50); process.stdout.write('connected\n'); });
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        count(out.backends, buf.slice(0, i).split(' ')[0]);
        out.ok++;
        buf = buf.slice(i + 1);
      }
    });
    s.on('error', (e) => { clearTimeout(stop); clearInterval(tick); count(out.errors, e.code ?? e.message); resolve(); });
  });
}

function probeOnce(proto, h, p, timeoutMs) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok, s) => { if (done) return; done = true; clearTimeout(timer); try { s?.destroy?.(); s?.close?.(); } catch {} resolve(ok); };
    let sock;
    const timer = setTimeout(() => finish(false, sock), timeoutMs);
    if (proto === 'tcp') {
      sock = net.connect({ host: h, port: p });
      sock.on('connect', () => sock.write('probe\n'));
      sock.on('data', () => finish(true, sock));
      sock.on('error', () => finish(false, sock));
    } else {
      sock = dgram.createSocket('udp4');
      sock.on('message', () => finish(true, sock));
      sock.on('error', () => finish(false, sock));
      sock.send('probe', p, h);
    }
  });
}

if (mode === 'hold') await hold(n);
else if (mode === 'matrix') {
  const probes = JSON.parse(portArg);
  const timeoutMs = Number(host);
  const results = {};
  await Promise.all(probes.map(async ([id, proto, h, p]) => { results[id] = await probeOnce(proto, h, p, timeoutMs); }));
  out.results = results;
} else {
  for (let i = 0; i < n && Date.now() < deadline; i++) {
    if (mode === 'tcp') await tcpOnce();
    else await udpOnce(mode === 'udp-connected');
  }
}
// Exit at once: a connection cut by policy would keep the loop alive for minutes.
process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
