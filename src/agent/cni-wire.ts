// The one request/response exchanged between the ebbflow-cni plugin and the
// node agent: JSON over HTTP on a unix socket (POST /v1/cni). The agent
// answers 200 with either a result or a CNI error; results are 1.0.0-shaped
// and the plugin relabels them for the config's version.
import type { CniCommand, CniErrorJson, CniResult, PodArgs } from './cni-spec.js';

export const CNI_WIRE_PATH = '/v1/cni';

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
