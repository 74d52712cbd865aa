// Test backend: answers every TCP line and every UDP datagram with its
// name, so a client can tell which backend it reached. Runs until killed.
// usage: node probe-server.mjs NAME PORT
import net from 'node:net';
import dgram from 'node:dgram';

const [name, portArg] = process.argv.slice(2);
const port = Number(portArg);
const tcp = net.createServer((sock) => {
  sock.setEncoding('utf8');
  let buf = '';
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      sock.write(`${name} ${sock.remoteAddress}:${sock.remotePort} ${line}\n`);
    }
  });
  sock.on('error', () => {});
});
const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => udp.send(`${name} ${rinfo.address}:${rinfo.port} ${msg}`, rinfo.port, rinfo.address));
let up = 0;
const ready = () => { if (++up === 2) process.stdout.write('ready\n'); };
tcp.listen(port, '0.0.0.0', ready);
udp.bind(port, '0.0.0.0', ready);
