// The plugin's only I/O besides stdin/stdout: one CniWireRequest to the node
// agent's unix socket (JSON, then half-close) and one JSON answer read until
// the agent closes. Plain node:net, no HTTP: loading and starting node:http
// cost the plugin ~12 ms per call here, a third of its own runtime. A missing
// or refusing socket becomes the caller's "unreachable" code at once; a
// silent agent becomes it after the timeout.
import { connect } from 'node:net';
import { CniCode, CniError } from '../src/agent/cni-spec.js';
import type { CniWireRequest, CniWireResponse } from '../src/agent/cni-wire.js';

/** Sends one request; resolves with the agent's response or rejects with a CniError. */
export function callAgent(socketPath: string, body: CniWireRequest, timeoutMs: number, unreachableCode: number = CniCode.TRY_AGAIN_LATER): Promise<CniWireResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (err: CniError) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(err);
    };
    sock.setTimeout(timeoutMs, () => fail(new CniError(unreachableCode, 'agent did not answer', `no response on ${socketPath} within ${timeoutMs} ms`)));
    sock.on('connect', () => sock.end(JSON.stringify(body)));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (err: NodeJS.ErrnoException) => fail(new CniError(unreachableCode, 'agent not reachable', `${socketPath}: ${err.code ?? err.message}`)));
    sock.on('end', () => {
      if (settled) return;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        const parsed = JSON.parse(text) as CniWireResponse;
        settled = true;
        resolve(parsed);
      } catch {
        fail(new CniError(text === '' ? unreachableCode : CniCode.INTERNAL, 'bad agent response', text === '' ? 'the agent closed without answering' : text.slice(0, 200)));
      }
    });
  });
}
