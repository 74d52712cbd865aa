// Loads the dataplane's BPF objects for one node with maps pinned under
// <pinRoot>/<node>/ (reused on restart), checks every shared struct against
// the objects' BTF, and attaches programs: tc on pods' host-side veths, tc
// NodePort programs on the node's uplink, and the socket-LB hooks on a
// cgroup v2 subtree (links pinned, so all outlive the process). close()
// drops fds only; destroy() also removes the pins.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertLayout, type StructLayout } from './layout.js';
import { affinityMatchCodec, MATCH_MAP_NAME } from './maps/lb-affinity.js';
import { backendCodec, MAP_NAME as BACKENDS } from './maps/lb-backends.js';
import { maglevCodec, MAP_NAME as MAGLEV } from './maps/lb-maglev.js';
import { MAP_NAME as REVNAT, reverseNatCodec } from './maps/lb-revnat.js';
import { MAP_NAME as SERVICES, serviceKeyCodec, serviceValueCodec } from './maps/lb-services.js';
import { ctEntryCodec, ctTupleCodec, MAP_NAME as CONNTRACK } from './maps/conntrack.js';
import { metricsValueLayout, MAP_NAME as METRICS } from './maps/metrics.js';
import { CONFIG_MAP_NAME as EVENTS_CONFIG, flowEventLayout, MAP_NAME as EVENTS } from './maps/events.js';
import {
  CONFIG_MAP_NAME as NP_CONFIG, NAT_MAP_NAME as NP_NAT, nodePortConfigCodec, nodePortEntryCodec,
  type NodePortEntry, type NodePortMapConfig,
} from './maps/nodeport.js';
import { resolveNodePortSettings, type NodePortSettings } from './lb-nodeport.js';
import { ipv4ToNumber } from './ip.js';
import { endpointInfoCodec, endpointKeyCodec, MAP_NAME as ENDPOINTS, type EndpointInfo } from './maps/endpoints.js';
import { ipcacheKeyCodec, ipcacheValueCodec, MAP_NAME as IPCACHE, type IpcacheKey } from './maps/ipcache.js';
import { MAP_NAME as POLICY, policyKeyCodec, policyValueCodec, type PolicyKey, type PolicyValue } from './maps/policy.js';
import {
  BpfObject, cgroupAttach, cgroupDetach, tcAttach, tcDetach, tcQuery, type BpfMap, type CgroupAttachType,
} from './native.js';
import { bpfObjectDir, DEFAULT_PIN_ROOT } from './paths.js';
import type { LbMaps } from './service-table.js';
import { TypedMap, u32Codec, u8Codec } from './typed-map.js';
import type { CtEntry, CtTuple } from './maps/conntrack.js';

/** Map size knobs (max_entries), by the map they size. */
export interface MapSizes {
  services?: number;
  backends?: number;
  revNat?: number;
  affinity?: number;
  maglev?: number;
  conntrack?: number;
  reverseSocket?: number;
  endpoints?: number;
  ipcache?: number;
  policy?: number;
  nodePortNat?: number;
}

export interface DataplaneConfig {
  /** Node name: pins go to <pinRoot>/<node>/. */
  node: string;
  pinRoot?: string;
  bpfDir?: string;
  mapSizes?: MapSizes;
}

export interface EndpointAttachment {
  netns?: string;
  ifname: string;
}

/** The node's uplink and its NodePort settings, for attachNodePort. */
export interface NetdevAttachment extends EndpointAttachment, NodePortSettings {}

export const TC_HANDLE = 0xeb;
export const TC_PRIORITY = 1;

const SOCK_PROGRAMS: [string, CgroupAttachType][] = [
  ['ebf_sock4_connect', 'connect4'],
  ['ebf_sock4_sendmsg', 'sendmsg4'],
  ['ebf_sock4_recvmsg', 'recvmsg4'],
  ['ebf_sock4_getpeername', 'getpeername4'],
];

const LAYOUTS: StructLayout[] = [
  serviceKeyCodec.layout!, serviceValueCodec.layout!, backendCodec.layout!, reverseNatCodec.layout!,
  affinityMatchCodec.layout!, maglevCodec.layout!, ctTupleCodec.layout!, ctEntryCodec.layout!,
  metricsValueLayout, endpointInfoCodec.layout!, ipcacheKeyCodec.layout!, ipcacheValueCodec.layout!,
  policyKeyCodec.layout!, policyValueCodec.layout!,
];
const HOST_LAYOUTS: StructLayout[] = [nodePortConfigCodec.layout!, nodePortEntryCodec.layout!, ctTupleCodec.layout!];

export interface Dataplane {
  readonly node: string;
  readonly pinDir: string;
  readonly lb: LbMaps;
  readonly conntrack: TypedMap<CtTuple, CtEntry>;
  readonly endpoints: TypedMap<number, EndpointInfo>;
  readonly ipcache: TypedMap<IpcacheKey, number>;
  readonly policy: TypedMap<PolicyKey, PolicyValue>;
  /** NodePort flows on the uplink (forward and reply entries). */
  readonly nodePortNat: TypedMap<CtTuple, NodePortEntry>;
  /** The uplink programs' settings (key 0), written by attachNodePort. */
  readonly nodePortConfig: TypedMap<number, NodePortMapConfig>;
  readonly metrics: BpfMap;
  readonly events: BpfMap;
  /** Trace sampling period per event type (maps/events.ts encodeSamplePeriod). */
  readonly eventsConfig: TypedMap<number, number>;
  /** The fd of a loaded program by name (for BPF_PROG_TEST_RUN and attach). */
  programFd(name: string): number;
  /** Attaches ebf_from_pod / ebf_to_pod on a pod's host-side veth. */
  attachEndpoint(ep: EndpointAttachment): Promise<{ ifindex: number }>;
  detachEndpoint(ep: EndpointAttachment): Promise<void>;
  /** True when both tc programs are attached on the interface. */
  endpointAttached(ep: EndpointAttachment): Promise<boolean>;
  /** Writes the node's NodePort settings, then attaches ebf_to_netdev /
   * ebf_from_netdev on its uplink (one uplink per node). */
  attachNodePort(dev: NetdevAttachment): Promise<{ ifindex: number }>;
  /** Detaches the uplink programs and turns NodePort off in the config map. */
  detachNodePort(dev: EndpointAttachment): Promise<void>;
  /** True when both uplink programs are attached on the interface. */
  nodePortAttached(dev: EndpointAttachment): Promise<boolean>;
  /** Attaches the socket-LB hooks to a cgroup v2 directory (links pinned). */
  attachSocketLb(cgroupPath: string): void;
  detachSocketLb(cgroupPath: string): void;
  /** Closes fds; pinned maps, programs' attachments and links stay. */
  close(): void;
  /** Detaches socket-LB links this node pinned and removes all its pins. */
  destroy(): void;
}

function sizeOverrides(s: MapSizes = {}): Record<string, number> {
  const out: Record<string, number> = {};
  const set = (name: string, v?: number) => { if (v) out[name] = v; };
  set(SERVICES, s.services);
  set(BACKENDS, s.backends);
  set(MATCH_MAP_NAME, s.backends);
  set(REVNAT, s.revNat);
  set('ebf_lb4_aff_v1', s.affinity);
  set(MAGLEV, s.maglev);
  set(CONNTRACK, s.conntrack);
  set('ebf_lb4_rsk_v1', s.reverseSocket);
  set(ENDPOINTS, s.endpoints);
  set(IPCACHE, s.ipcache);
  set(POLICY, s.policy);
  set(NP_NAT, s.nodePortNat);
  return out;
}

const linkDirName = (cgroupPath: string) => createHash('sha256').update(cgroupPath).digest('hex').slice(0, 16);

/** Loads (or re-opens after a restart) the dataplane of one node. */
/** The size overrides that apply to maps this object declares (each object holds only some maps). */
function overridesFor(path: string, pinRoot: string, all: Record<string, number>): Record<string, number> {
  if (Object.keys(all).length === 0) return all;
  const probe = BpfObject.open(path, { pinRoot });
  try {
    const names = new Set(probe.maps().map((m) => m.name));
    return Object.fromEntries(Object.entries(all).filter(([n]) => names.has(n)));
  } finally {
    probe.close();
  }
}

export async function loadDataplane(config: DataplaneConfig): Promise<Dataplane> {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(config.node)) throw new Error(`invalid node name ${config.node}`);
  const pinDir = join(config.pinRoot ?? DEFAULT_PIN_ROOT, config.node);
  const bpfDir = config.bpfDir ?? bpfObjectDir();
  mkdirSync(pinDir, { recursive: true });
  const maxEntries = sizeOverrides(config.mapSizes);
  const objects: BpfObject[] = [];
  try {
    for (const name of ['bpf_sock.o', 'bpf_lxc.o', 'bpf_host.o']) {
      const obj = BpfObject.open(join(bpfDir, name), { pinRoot: pinDir, maxEntries: overridesFor(join(bpfDir, name), pinDir, maxEntries) });
      objects.push(obj);
      await obj.load();
    }
    const [sock, lxc, host] = objects;
    for (const l of LAYOUTS) assertLayout(l, lxc.btfStruct(l.name));
    for (const l of HOST_LAYOUTS) assertLayout(l, host.btfStruct(l.name));
    assertLayout(flowEventLayout, lxc.btfStruct(flowEventLayout.name));
    assertLayout(flowEventLayout, host.btfStruct(flowEventLayout.name));
    return makeDataplane(config.node, pinDir, sock, lxc, host);
  } catch (err) {
    for (const o of objects) o.close();
    throw err;
  }
}

async function detachTc(target: EndpointAttachment): Promise<void> {
  for (const direction of ['ingress', 'egress'] as const) {
    try {
      await tcDetach({ ...target, direction, handle: TC_HANDLE, priority: TC_PRIORITY });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
  }
}

async function tcAttachedBoth(target: EndpointAttachment): Promise<boolean> {
  for (const direction of ['ingress', 'egress'] as const) {
    const q = await tcQuery({ ...target, direction, handle: TC_HANDLE, priority: TC_PRIORITY }).catch(() => null);
    if (!q) return false;
  }
  return true;
}

function makeDataplane(node: string, pinDir: string, sock: BpfObject, lxc: BpfObject, host: BpfObject): Dataplane {
  const lb: LbMaps = {
    services: new TypedMap(SERVICES, lxc.map(SERVICES), serviceKeyCodec, serviceValueCodec),
    backends: new TypedMap(BACKENDS, lxc.map(BACKENDS), u32Codec, backendCodec),
    revNat: new TypedMap(REVNAT, lxc.map(REVNAT), u32Codec, reverseNatCodec),
    maglev: new TypedMap(MAGLEV, lxc.map(MAGLEV), u32Codec, maglevCodec),
    affinityMatch: new TypedMap(MATCH_MAP_NAME, lxc.map(MATCH_MAP_NAME), affinityMatchCodec, u8Codec),
  };
  const conntrack = new TypedMap(CONNTRACK, lxc.map(CONNTRACK), ctTupleCodec, ctEntryCodec);
  const endpoints = new TypedMap(ENDPOINTS, lxc.map(ENDPOINTS), endpointKeyCodec, endpointInfoCodec);
  const ipcache = new TypedMap(IPCACHE, lxc.map(IPCACHE), ipcacheKeyCodec, ipcacheValueCodec);
  const policy = new TypedMap(POLICY, lxc.map(POLICY), policyKeyCodec, policyValueCodec);
  const nodePortNat = new TypedMap(NP_NAT, host.map(NP_NAT), ctTupleCodec, nodePortEntryCodec);
  const nodePortConfig = new TypedMap(NP_CONFIG, host.map(NP_CONFIG), u32Codec, nodePortConfigCodec);
  const metrics = lxc.map(METRICS);
  const events = lxc.map(EVENTS);
  const eventsConfig = new TypedMap(EVENTS_CONFIG, lxc.map(EVENTS_CONFIG), u32Codec, u32Codec);
  const fromNetdev = host.programFd('ebf_from_netdev');
  const toNetdev = host.programFd('ebf_to_netdev');
  const linkRoot = join(pinDir, 'links');
  const fromPod = lxc.programFd('ebf_from_pod');
  const toPod = lxc.programFd('ebf_to_pod');

  const target = (ep: EndpointAttachment) => ({ netns: ep.netns, ifname: ep.ifname });
  return {
    node,
    pinDir,
    lb,
    conntrack,
    endpoints,
    ipcache,
    policy,
    nodePortNat,
    nodePortConfig,
    metrics,
    events,
    eventsConfig,
    programFd(name) {
      for (const o of [lxc, host]) if (o.programs().some((p) => p.name === name)) return o.programFd(name);
      return sock.programFd(name);
    },
    async attachEndpoint(ep) {
      // Egress (reverse NAT) first so replies of a flow the ingress program
      // translates are always restored.
      const r = await tcAttach({ ...target(ep), direction: 'egress', progFd: toPod, handle: TC_HANDLE, priority: TC_PRIORITY });
      await tcAttach({ ...target(ep), direction: 'ingress', progFd: fromPod, handle: TC_HANDLE, priority: TC_PRIORITY });
      return { ifindex: r.ifindex };
    },
    detachEndpoint: (ep) => detachTc(target(ep)),
    endpointAttached: (ep) => tcAttachedBoth(target(ep)),
    async attachNodePort(dev) {
      const s = resolveNodePortSettings(dev);
      nodePortConfig.set(0, {
        nodeIP: ipv4ToNumber(s.nodeIP), portMin: s.portRange.min, portMax: s.portRange.max,
        snatMin: s.snatPortRange.min, snatMax: s.snatPortRange.max,
      });
      // Egress (reverse NAT of local backends' replies) before ingress, as for pods.
      const r = await tcAttach({ ...target(dev), direction: 'egress', progFd: toNetdev, handle: TC_HANDLE, priority: TC_PRIORITY });
      await tcAttach({ ...target(dev), direction: 'ingress', progFd: fromNetdev, handle: TC_HANDLE, priority: TC_PRIORITY });
      return { ifindex: r.ifindex };
    },
    async detachNodePort(dev) {
      await detachTc(target(dev));
      nodePortConfig.set(0, { nodeIP: 0, portMin: 0, portMax: 0, snatMin: 0, snatMax: 0 });
    },
    nodePortAttached: (dev) => tcAttachedBoth(target(dev)),
    attachSocketLb(cgroupPath) {
      const dir = join(linkRoot, linkDirName(cgroupPath));
      mkdirSync(dir, { recursive: true });
      for (const [prog, type] of SOCK_PROGRAMS) {
        cgroupAttach({ cgroupPath, progFd: sock.programFd(prog), attachType: type, pinPath: join(dir, type) });
      }
    },
    detachSocketLb(cgroupPath) {
      const dir = join(linkRoot, linkDirName(cgroupPath));
      for (const [, type] of SOCK_PROGRAMS) cgroupDetach(join(dir, type));
      rmSync(dir, { recursive: true, force: true });
    },
    close() {
      sock.close();
      lxc.close();
      host.close();
    },
    destroy() {
      if (existsSync(linkRoot)) {
        for (const d of readdirSync(linkRoot)) {
          for (const [, type] of SOCK_PROGRAMS) cgroupDetach(join(linkRoot, d, type));
        }
      }
      sock.close();
      lxc.close();
      host.close();
      rmSync(pinDir, { recursive: true, force: true });
    },
  };
}
