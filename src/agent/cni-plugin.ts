// One CNI invocation: parse env and stdin, answer VERSION locally, forward
// every other command to the node agent, and shape its answer for the
// config's cniVersion. Returns what to print and the exit code; never throws.
// Runs in the plugin process (cni/main.ts) or, for the native shim that only
// relays env + stdin, inside the agent (cni-server.ts).
import { checkCommandVersion, CniCode, CniError, LATEST_VERSION, mergeResults, parseCniEnv, parseNetConf,
  resultForVersion, SUPPORTED_VERSIONS, type CniEnv, type NetConf } from './cni-spec.js';
import type { CniWireRequest, CniWireResponse } from './cni-wire.js';
import { defaultAgentSocket } from './cni-wire.js';

export interface PluginIo {
  env: Record<string, string | undefined>;
  stdin: string;
  /** Sends one request to the agent (tests pass a fake). */
  call(socketPath: string, req: CniWireRequest, timeoutMs: number, unreachableCode: number): Promise<CniWireResponse>;
  /** Node name used for the default socket path. */
  node?: string;
}

export interface PluginOutcome {
  stdout: string;
  exitCode: number;
  /** Parsed config when it got that far (for logging). */
  conf?: NetConf;
}

const AGENT_TIMEOUT_MS = 60_000;

function versionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v) ? v : LATEST_VERSION;
  } catch {
    return LATEST_VERSION;
  }
}

/** Runs one CNI command. */
export async function runPlugin(io: PluginIo): Promise<PluginOutcome> {
  let env: CniEnv | undefined;
  let conf: NetConf | undefined;
  try {
    env = parseCniEnv(io.env);
    if (env.command === 'VERSION') {
      return { stdout: JSON.stringify({ cniVersion: versionOf(io.stdin), supportedVersions: SUPPORTED_VERSIONS }), exitCode: 0 };
    }
    conf = parseNetConf(io.stdin);
    checkCommandVersion(env.command, conf.cniVersion);
    const socket = conf.agentSocket ?? defaultAgentSocket(io.node ?? 'local');
    const req: CniWireRequest = {
      command: env.command,
      containerId: env.containerId,
      netns: env.netns,
      ifname: env.ifname,
      args: env.args,
      network: conf.name,
      ...(conf.mtu ? { mtu: conf.mtu } : {}),
      ...(conf.prevResult ? { prevResult: conf.prevResult } : {}),
      ...(conf.validAttachments ? { validAttachments: conf.validAttachments } : {}),
    };
    // STATUS asks "can you serve ADDs?": an absent agent is code 50, not "try again".
    const unreachable = env.command === 'STATUS' ? CniCode.NOT_AVAILABLE : CniCode.TRY_AGAIN_LATER;
    const res = await io.call(socket, req, AGENT_TIMEOUT_MS, unreachable);
    if (res.error) throw new CniError(res.error.code, res.error.msg, res.error.details);
    if (env.command !== 'ADD') return { stdout: '', exitCode: 0, conf };
    if (!res.result) throw new CniError(CniCode.INTERNAL, 'agent returned no result');
    const result = resultForVersion(mergeResults(conf.prevResult, res.result), conf.cniVersion);
    return { stdout: JSON.stringify(result), exitCode: 0, conf };
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError(CniCode.INTERNAL, 'plugin failure', (err as Error)?.message ?? String(err));
    const version = conf?.cniVersion ?? versionOf(io.stdin);
    return { stdout: JSON.stringify(e.toJSON(version)), exitCode: 1, conf };
  }
}
