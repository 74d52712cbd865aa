// The one request/response exchanged between the ebbflow-cni plugin and the
// node agent over a unix socket, one exchange per connection: the plugin
// writes a CniWireRequest as JSON and half-closes; the agent writes a
// CniWireResponse as JSON and closes. The response holds a result or a CNI
// error; results are 1.0.0-shaped and the plugin relabels them for the
// config's version.
import type { CniCommand, CniErrorJson, CniResult, PodArgs } from './cni-spec.js';

/** Largest request the agent reads (a prevResult of a long chain stays far below). */
export const MAX_REQUEST_BYTES = 1 << 20;

/** Where an agent for `node` listens unless the config names another socket. */
export function defaultAgentSocket(node: string): string {
  return `/run/ebbflow/${node}/cni.sock`;
}

export interface CniWireRequest {
  command: Exclude<CniCommand, 'VERSION'>;
  containerId: string;
  netns: string;
  ifname: string;
  args: PodArgs;
  network: string;
  mtu?: number;
  prevResult?: CniResult;
  validAttachments?: { containerID: string; ifname: string }[];
}

export interface CniWireResponse {
  result?: CniResult;
  error?: Omit<CniErrorJson, 'cniVersion'>;
}

/** Raw requests of the native shim (cni/shim/ebbflow-cni.c), which relays
 * instead of parsing: "EBFRAW1\n", KEY=VALUE lines of the CNI_* environment,
 * an empty line, then the network config (the plugin's stdin) to the end.
 * The agent runs the plugin logic itself and answers "EBFRAW <exit code>\n"
 * followed by exactly what the plugin prints. */
export const RAW_MAGIC = Buffer.from('EBFRAW1\n');

export function parseRawRequest(body: Buffer): { env: Record<string, string>; stdin: string } {
  const text = body.subarray(RAW_MAGIC.length).toString('utf8');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const env: Record<string, string> = {};
  for (const line of head.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { env, stdin: split < 0 ? '' : text.slice(split + 2) };
}
