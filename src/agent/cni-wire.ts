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
