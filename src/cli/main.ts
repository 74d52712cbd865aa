#!/usr/bin/env node
// The ebbflow command: dispatches to one file per subcommand.
import { runAgent } from './agent.js';
import { runDemo } from './demo.js';
import { runImages } from './images.js';
import { runLb } from './lb.js';
import { runObserve } from './observe.js';
import { runServer } from './server.js';
import { runDown, runStatus, runUp } from './up.js';

const HELP = `ebbflow — a small Kubernetes distribution with an eBPF dataplane

usage: ebbflow <command> [flags]

commands:
  up          start a local cluster: nodes in network namespaces (ebbflow up --help)
  down        stop the local cluster and remove everything it created
  status      show the local cluster's processes and nodes
  agent       the node network agent (dataplane, CNI, Services, NetworkPolicy, flows)
  images      build the local pause/busybox OCI images, import them into containerd
  demo lb     Service load balancing across network namespaces, with real traffic
  lb          run the eBPF load balancer from a file (apply | status | down)
  observe     show flows from an agent (ebbflow observe --help)
  server      the Kubernetes API server (--data-dir, --bind, --port, --datastore sqlite://|etcd://)
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'demo':
      return runDemo(rest);
    case 'lb':
      return runLb(rest);
    case 'server':
      await runServer(rest);
      return 0;
    case 'observe':
      return runObserve(rest);
    case 'agent':
      return runAgent(rest);
    case 'images':
      return runImages(rest);
    case 'up':
      return runUp(rest);
    case 'down':
      return runDown(rest);
    case 'status':
      return runStatus(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`ebbflow: unknown command "${cmd}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error & { code?: string }) => {
    // Expected failures carry a stable code and a message meant for users.
    process.stderr.write(`ebbflow: ${err.message}${err.code ? ` (${err.code})` : ''}\n`);
    process.exit(1);
  },
);
