// The plugin's only I/O besides stdin/stdout: one POST of a CniWireRequest
// to the node agent's unix socket. A missing or refusing socket becomes
// CNI error 11 (try again later) at once; a silent agent after the timeout.
import { request } from 'node:http';
import { CniCode, CniError } from '../src/agent/cni-spec.js';
import { CNI_WIRE_PATH, type CniWireRequest, type CniWireResponse } from '../src/agent/cni-wire.js';

/** Sends one request; resolves with the agent's response or rejects with a CniError. */
export function callAgent(socketPath: string, body: CniWireRequest, timeoutMs: number, unreachableCode: number = CniCode.TRY_AGAIN_LATER): Promise<CniWireResponse> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath, path: CNI_WIRE_PATH, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': payload.length, connection: 'close' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          const parsed = JSON.parse(text) as CniWireResponse;
          resolve(parsed);
        } catch {
          reject(new CniError(CniCode.INTERNAL, 'bad agent response', `HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', (err) => reject(new CniError(unreachableCode, 'agent connection failed', err.message)));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      reject(new CniError(unreachableCode, 'agent did not answer', `no response on ${socketPath} within ${timeoutMs} ms`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new CniError(unreachableCode, 'agent not reachable', `${socketPath}: ${err.code ?? err.message}`));
    });
    req.end(payload);
  });
}
