// ebbflow-cni entry point: the runtime execs it once per CNI call. It reads
// the CNI_* environment and the network config on stdin, lets the node agent
// do the work, prints the result (or the spec's error JSON) on stdout and
// exits. Nothing else ever reaches stdout; the logger (stderr) is loaded only
// when the config sets logLevel, to keep the common path's startup short.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { callAgent } from './agent-client.js';
import { runPlugin } from './plugin.js';

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    // A closed or absent stdin reads as empty: VERSION works, the rest fail to decode.
    return '';
  }
}

async function main(): Promise<number> {
  const started = process.hrtime.bigint();
  const outcome = await runPlugin({ env: process.env, stdin: readStdin(), call: callAgent, node: process.env.EBBFLOW_NODE ?? hostname() });
  if (outcome.stdout !== '') process.stdout.write(`${outcome.stdout}\n`);
  const level = outcome.conf?.logLevel;
  if (level) {
    const { createLogger, forComponent } = await import('../src/log/logger.js');
    const log = forComponent(createLogger({ level }), 'cni-plugin');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const fields = { command: process.env.CNI_COMMAND, containerId: process.env.CNI_CONTAINERID, exitCode: outcome.exitCode, ms };
    if (outcome.exitCode === 0) log.info(fields, 'cni call done');
    else log.warn({ ...fields, error: outcome.stdout }, 'cni call failed');
  }
  return outcome.exitCode;
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Unreachable by design (runPlugin never throws); still answer in the spec's shape, no stack trace.
    process.stdout.write(`${JSON.stringify({ cniVersion: '1.0.0', code: 100, msg: 'plugin failure', details: String((err as Error)?.message ?? err) })}\n`);
    process.exitCode = 1;
  },
);
