// The CNI spec as ebbflow speaks it (1.0.0 for containerd 1.6, plus GC and
// STATUS from 1.1): versions, well-known error codes, parsing of the
// runtime's environment and network config, and result shaping per version.
// Pure and dependency-free: the plugin process imports it on every call.

/** Versions this plugin accepts in a network config (VERSION reports these). */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

/** Well-known CNI error codes (spec "Error" section) and ours (100+). */
export const CniCode = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
  /** ours: the agent failed doing the work (netlink, hook). */
  INTERNAL: 100,
  /** ours: the container+ifname is attached with a different netns. */
  CONFLICT: 101,
  /** ours: no free address left in the node's pod CIDR. */
  POOL_EXHAUSTED: 102,
  /** ours: CHECK found the pod's network not as ADD left it. */
  CHECK_FAILED: 103,
} as const;

/** A failure reported to the runtime as the spec's error JSON. */
export class CniError extends Error {
  constructor(readonly code: number, readonly msg: string, readonly details?: string) {
    super(details ? `${msg}: ${details}` : msg);
    this.name = 'CniError';
  }

  toJSON(cniVersion: string): CniErrorJson {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}

export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';
const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

export interface PodArgs {
  podNamespace?: string;
  podName?: string;
  podUid?: string;
  infraContainerId?: string;
}

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  args: PodArgs;
  path: string[];
}

const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IFNAME_RE = /^[^\s/:]{1,15}$/;
const NETWORK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const KNOWN_ARGS: Record<string, keyof PodArgs | null> = {
  K8S_POD_NAMESPACE: 'podNamespace',
  K8S_POD_NAME: 'podName',
  K8S_POD_UID: 'podUid',
  K8S_POD_INFRA_CONTAINER_ID: 'infraContainerId',
  IgnoreUnknown: null,
};

/** Parses CNI_ARGS ("K=V;K2=V2"); unknown keys are an error unless IgnoreUnknown is 1/true. */
export function parseCniArgs(raw: string): PodArgs {
  const out: PodArgs = {};
  if (raw === '') return out;
  const pairs: [string, string][] = [];
  for (const part of raw.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.INVALID_ENV, 'invalid CNI_ARGS', `"${part}" is not KEY=VALUE`);
    pairs.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  const ignore = pairs.some(([k, v]) => k === 'IgnoreUnknown' && /^(1|true)$/i.test(v));
  for (const [k, v] of pairs) {
    if (!(k in KNOWN_ARGS)) {
      if (ignore) continue;
      throw new CniError(CniCode.UNSUPPORTED_FIELD, 'unknown CNI_ARGS key', `${k}=${v} (set IgnoreUnknown=1 to ignore)`);
    }
    const field = KNOWN_ARGS[k];
    if (field) out[field] = v;
  }
  return out;
}

/** Reads the CNI_* variables; throws CniError code 4 when one the command needs is missing or malformed. */
export function parseCniEnv(env: Record<string, string | undefined>): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (!COMMANDS.includes(command)) {
    throw new CniError(CniCode.INVALID_ENV, 'invalid CNI_COMMAND', command === '' ? 'CNI_COMMAND is not set' : `unknown command "${command}"`);
  }
  const cmd = command as CniCommand;
  const perContainer = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK';
  const need = (name: string, required: boolean): string => {
    const v = env[name] ?? '';
    if (required && v === '') throw new CniError(CniCode.INVALID_ENV, `missing ${name}`, `${cmd} needs ${name}`);
    return v;
  };
  const containerId = need('CNI_CONTAINERID', perContainer);
  // DEL must work after the runtime already removed the namespace: netns optional there.
  const netns = need('CNI_NETNS', cmd === 'ADD' || cmd === 'CHECK');
  const ifname = need('CNI_IFNAME', perContainer);
  if (containerId !== '' && !CONTAINER_ID_RE.test(containerId)) {
    throw new CniError(CniCode.INVALID_ENV, 'invalid CNI_CONTAINERID', `"${containerId}" must be [A-Za-z0-9_.-], starting alphanumeric`);
  }
  if (ifname !== '' && (!IFNAME_RE.test(ifname) || ifname === '.' || ifname === '..')) {
    throw new CniError(CniCode.INVALID_ENV, 'invalid CNI_IFNAME', `"${ifname}" must be 1-15 characters without whitespace, '/' or ':'`);
  }
  if (netns !== '' && !netns.startsWith('/')) {
    throw new CniError(CniCode.INVALID_ENV, 'invalid CNI_NETNS', `"${netns}" must be an absolute path`);
  }
  const args = parseCniArgs(env.CNI_ARGS ?? '');
  const path = (env.CNI_PATH ?? '').split(':').filter((p) => p !== '');
  return { command: cmd, containerId, netns, ifname, args, path };
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
  /** Only in results before 1.0.0. */
  version?: string;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** One network config as the runtime streams it on stdin (plugin list entry with name/cniVersion filled in). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** ours: the agent's CNI socket. */
  agentSocket?: string;
  /** ours: MTU of both veth ends. */
  mtu?: number;
  /** ours: stderr log level of the plugin (off by default). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  prevResult?: CniResult;
  runtimeConfig?: Record<string, unknown>;
  /** GC (1.1): attachments the runtime still knows. */
  validAttachments?: { containerID: string; ifname: string }[];
}

/** Semver-ish compare of CNI versions ("1.0.0" > "0.4.0"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decodes stdin into a NetConf: code 6 for bad JSON, 7 for bad fields, 1 for an unsupported cniVersion. */
export function parseNetConf(stdin: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CniCode.DECODE_FAILURE, 'cannot decode network config', (err as Error).message);
  }
  if (!isObject(raw)) throw new CniError(CniCode.DECODE_FAILURE, 'cannot decode network config', 'not a JSON object');
  const bad = (field: string, why: string): never => {
    throw new CniError(CniCode.INVALID_CONFIG, 'invalid network config', `${field}: ${why}`);
  };
  const str = (field: string): string | undefined => {
    const v = raw[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') bad(field, 'must be a string');
    return v as string;
  };
  const cniVersion = str('cniVersion') ?? bad('cniVersion', 'required');
  const name = str('name') ?? bad('name', 'required');
  const type = str('type') ?? bad('type', 'required');
  if (!NETWORK_NAME_RE.test(name)) bad('name', `"${name}" must be alphanumeric with _ . -`);
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CniCode.INCOMPATIBLE_VERSION, 'incompatible CNI version',
      `config version ${cniVersion}; plugin supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const conf: NetConf = { cniVersion, name, type };
  const agentSocket = str('agentSocket');
  if (agentSocket !== undefined) {
    if (!agentSocket.startsWith('/')) bad('agentSocket', 'must be an absolute path');
    conf.agentSocket = agentSocket;
  }
  if (raw.mtu !== undefined) {
    const mtu = raw.mtu;
    if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 576 || mtu > 65535) bad('mtu', 'must be an integer in 576..65535');
    conf.mtu = mtu as number;
  }
  const logLevel = str('logLevel');
  if (logLevel !== undefined) {
    if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) bad('logLevel', 'must be debug, info, warn or error');
    conf.logLevel = logLevel as NetConf['logLevel'];
  }
  if (raw.prevResult !== undefined) {
    if (!isObject(raw.prevResult)) bad('prevResult', 'must be an object');
    conf.prevResult = raw.prevResult as unknown as CniResult;
  }
  if (raw.runtimeConfig !== undefined) {
    if (!isObject(raw.runtimeConfig)) bad('runtimeConfig', 'must be an object');
    conf.runtimeConfig = raw.runtimeConfig as Record<string, unknown>;
  }
  const valid = raw['cni.dev/valid-attachments'] ?? raw['cni.dev/attachments'];
  if (valid !== undefined) {
    if (!Array.isArray(valid) || !valid.every((a) => isObject(a) && typeof a.containerID === 'string' && typeof a.ifname === 'string')) {
      bad('cni.dev/valid-attachments', 'must be a list of {containerID, ifname}');
    }
    conf.validAttachments = (valid as { containerID: string; ifname: string }[]).map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
  }
  return conf;
}

/** The minimum config version a command exists in (CHECK: 0.4.0; GC, STATUS: 1.1.0). */
export function checkCommandVersion(command: CniCommand, cniVersion: string): void {
  const min = command === 'CHECK' ? '0.4.0' : command === 'GC' || command === 'STATUS' ? '1.1.0' : null;
  if (min && compareVersions(cniVersion, min) < 0) {
    throw new CniError(CniCode.INCOMPATIBLE_VERSION, 'incompatible CNI version', `${command} needs config version >= ${min}, got ${cniVersion}`);
  }
}

/** Re-labels a (1.0.0-shaped) result for the config's version: before 1.0.0 every ip carries "version". */
export function resultForVersion(result: CniResult, cniVersion: string): CniResult {
  const old = compareVersions(cniVersion, '1.0.0') < 0;
  const ips = result.ips?.map((ip) => {
    const { version: _v, ...rest } = ip;
    return old ? { ...rest, version: ip.address.includes(':') ? '6' : '4' } : rest;
  });
  return { ...result, cniVersion, ...(ips ? { ips } : {}) };
}

/** Appends our result to a chained prevResult, shifting our ips' interface indexes past its interfaces. */
export function mergeResults(prev: CniResult | undefined, ours: CniResult): CniResult {
  if (!prev) return ours;
  const base = prev.interfaces?.length ?? 0;
  return {
    cniVersion: ours.cniVersion,
    interfaces: [...(prev.interfaces ?? []), ...(ours.interfaces ?? [])],
    ips: [...(prev.ips ?? []), ...(ours.ips ?? []).map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + base }))],
    routes: [...(prev.routes ?? []), ...(ours.routes ?? [])],
    dns: prev.dns ?? ours.dns ?? {},
  };
}
