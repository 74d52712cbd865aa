// The agent side of ebbflow-cni: a unix socket taking one JSON request per
// connection (see cni-wire.ts) per CNI call and doing the work the plugin must not: IPAM
// from the node's podCIDR, the veth pair and routes over netlink, and the
// endpoint hooks the dataplane attaches through. Work for one container is
// serialized; different containers proceed concurrently.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { NetlinkHandle, POD_GATEWAY } from './cni-netlink.js';
import { runPlugin } from './cni-plugin.js';
import { checkPod, hostIfname, isHostIfname, unwirePod, wirePod } from './cni-pod-network.js';
import { CniCode, CniError, type CniResult } from './cni-spec.js';
import { MAX_REQUEST_BYTES, parseRawRequest, RAW_MAGIC, type CniWireRequest, type CniWireResponse } from './cni-wire.js';
import { Ipam, IpamExhaustedError, type Allocation } from './ipam.js';

/** What the hooks learn about an endpoint. */
export interface CniEndpoint {
  containerId: string;
  ifname: string;
  netns: string;
  podNamespace?: string;
  podName?: string;
  ip: string;
  hostIfname: string;
  hostIfindex: number;
}

export interface CniServerConfig {
  /** The unix socket to listen on (its directory is created). */
  socketPath: string;
  /** The namespace the agent treats as the node's ("host"); null = the agent's own. */
  hostNetns: string | null;
  podCIDR: string;
  /** IPAM state goes to <stateDir>/ipam.json. */
  stateDir: string;
  /** MTU when the network config names none. */
  defaultMtu?: number;
  /** Called after a pod's network is up; a throw fails the ADD (and unwires it). */
  onEndpointAdded?: (ep: CniEndpoint) => Promise<void> | void;
  /** Called before a pod's network is removed (DEL, GC). */
  onEndpointRemoved?: (ep: CniEndpoint) => Promise<void> | void;
  logger?: Logger;
}

export interface CniServerHandle {
  readonly socketPath: string;
  readonly ipam: Ipam;
  /** Endpoints whose veth exists (for re-registering with the dataplane after an agent restart). */
  listEndpoints(): Promise<CniEndpoint[]>;
  stop(): Promise<void>;
}

/** Starts the CNI endpoint; resolves once it accepts connections. */
export async function startCniServer(config: CniServerConfig): Promise<CniServerHandle> {
  const ipam = Ipam.open({ podCIDR: config.podCIDR, stateFile: join(config.stateDir, 'ipam.json') });
  const host = NetlinkHandle.open(config.hostNetns);
  const log = config.logger;
  const locks = new Map<string, Promise<unknown>>();
  const busyHostIfs = new Set<string>();
  let stopping = false;

  const withLock = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => { if (locks.get(key) === tail) locks.delete(key); });
    return run;
  };

  const endpointOf = (a: Allocation, hostIfindex: number): CniEndpoint => ({
    containerId: a.containerId, ifname: a.ifname, netns: a.netns, podNamespace: a.podNamespace, podName: a.podName,
    ip: a.ip, hostIfname: hostIfname(a.containerId, a.ifname), hostIfindex,
  });

  async function add(req: CniWireRequest): Promise<CniResult> {
    const hostIf = hostIfname(req.containerId, req.ifname);
    busyHostIfs.add(hostIf);
    try {
      return await addLocked(req);
    } finally {
      busyHostIfs.delete(hostIf);
    }
  }

  async function addLocked(req: CniWireRequest): Promise<CniResult> {
    const known = ipam.get(req.containerId, req.ifname);
    if (known && known.netns !== req.netns) {
      throw new CniError(CniCode.CONFLICT, 'container already attached', `${req.containerId}/${req.ifname} is attached in ${known.netns}, not ${req.netns}`);
    }
    if (known && (await checkPod(host, known)).length === 0) {
      // A repeated ADD of a pod that is fully wired answers with the same result.
      return await resultFor(known);
    }
    const { allocation, created } = await allocate(req);
    try {
      // Leftovers of a half-done earlier ADD of the same container go first (the
      // host veth name is derived from the container id, so it can only be ours).
      await unwirePod(host, req.containerId, req.ifname, created ? undefined : allocation.ip);
      const wired = await wirePod(host, { containerId: req.containerId, ifname: req.ifname, netns: req.netns, ip: allocation.ip, mtu: req.mtu ?? config.defaultMtu ?? 1500 });
      try {
        await config.onEndpointAdded?.(endpointOf(allocation, wired.hostIfindex));
      } catch (err) {
        await unwirePod(host, req.containerId, req.ifname, allocation.ip).catch(() => undefined);
        throw new CniError(CniCode.INTERNAL, 'endpoint registration failed', (err as Error).message);
      }
      log?.info({ containerId: req.containerId, ip: allocation.ip, hostIf: wired.hostIfname }, 'pod network added');
      return buildResult(allocation, wired.hostIfname, wired.hostMac, wired.podMac);
    } catch (err) {
      await ipam.release(req.containerId, req.ifname).catch(() => undefined);
      if (err instanceof CniError) throw err;
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' && e.syscall !== undefined) throw new CniError(CniCode.INVALID_ENV, 'cannot enter netns', `${req.netns}: ${e.message}`);
      throw new CniError(CniCode.INTERNAL, 'pod network setup failed', e.message);
    }
  }

  async function allocate(req: CniWireRequest) {
    try {
      return await ipam.allocate({ containerId: req.containerId, ifname: req.ifname, netns: req.netns, podNamespace: req.args.podNamespace, podName: req.args.podName });
    } catch (err) {
      if (err instanceof IpamExhaustedError) throw new CniError(CniCode.POOL_EXHAUSTED, 'pod CIDR exhausted', err.message);
      throw err;
    }
  }

  async function resultFor(a: Allocation): Promise<CniResult> {
    const hostLink = await host.linkInfo(hostIfname(a.containerId, a.ifname));
    const pod = NetlinkHandle.open(a.netns);
    try {
      const podLink = await pod.linkInfo(a.ifname);
      return buildResult(a, hostIfname(a.containerId, a.ifname), hostLink?.mac, podLink?.mac);
    } finally {
      pod.close();
    }
  }

  async function del(req: CniWireRequest): Promise<void> {
    const known = ipam.get(req.containerId, req.ifname);
    const hostIf = hostIfname(req.containerId, req.ifname);
    if (known) {
      const link = await host.linkIndex(hostIf);
      await config.onEndpointRemoved?.(endpointOf(known, link ?? 0));
    }
    await unwirePod(host, req.containerId, req.ifname, known?.ip);
    await ipam.release(req.containerId, req.ifname);
    log?.info({ containerId: req.containerId, known: known !== undefined }, 'pod network deleted');
  }

  async function check(req: CniWireRequest): Promise<void> {
    const known = ipam.get(req.containerId, req.ifname);
    if (!known) throw new CniError(CniCode.UNKNOWN_CONTAINER, 'unknown container', `${req.containerId}/${req.ifname} was never added`);
    const problems = await checkPod(host, { ...known, netns: req.netns });
    const prevIps = req.prevResult?.ips?.map((ip) => ip.address);
    if (prevIps && !prevIps.includes(`${known.ip}/32`)) problems.push(`prevResult has ${prevIps.join(', ') || 'no ips'}, the pod holds ${known.ip}/32`);
    if (problems.length > 0) throw new CniError(CniCode.CHECK_FAILED, 'pod network is not as configured', problems.join('; '));
  }

  async function gc(req: CniWireRequest): Promise<void> {
    const valid = (req.validAttachments ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
    const keep = new Set(valid.map((v) => `${v.containerId}/${v.ifname}`));
    // A container with a request in flight is not judged by a list the runtime made before it.
    const stale = ipam.list().filter((a) => !keep.has(`${a.containerId}/${a.ifname}`) && !locks.has(a.containerId));
    for (const a of stale) {
      await withLock(a.containerId, () => del({ ...req, containerId: a.containerId, ifname: a.ifname }));
    }
    // Host veths of ours that no allocation accounts for (an ADD cut short by a crash)
    // go too; names of allocations with a request in flight are kept.
    const owned = new Set(ipam.list().map((a) => hostIfname(a.containerId, a.ifname)));
    for (const name of await host.linkNames()) {
      if (isHostIfname(name) && !owned.has(name) && !busyHostIfs.has(name)) {
        await host.deleteLink(name);
        log?.info({ hostIf: name }, 'orphan veth removed by GC');
      }
    }
  }

  async function listEndpoints(): Promise<CniEndpoint[]> {
    const out: CniEndpoint[] = [];
    for (const a of ipam.list()) {
      const index = await host.linkIndex(hostIfname(a.containerId, a.ifname));
      if (index !== null) out.push(endpointOf(a, index));
    }
    return out;
  }

  async function dispatch(req: CniWireRequest): Promise<CniWireResponse> {
    switch (req.command) {
      case 'ADD': return { result: await withLock(req.containerId, () => add(req)) };
      case 'DEL': await withLock(req.containerId, () => del(req)); return {};
      case 'CHECK': await withLock(req.containerId, () => check(req)); return {};
      case 'GC': await gc(req); return {};
      case 'STATUS': return {};
      default: throw new CniError(CniCode.INVALID_ENV, 'unknown command', String((req as { command: unknown }).command));
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    const reply = (body: CniWireResponse) => {
      if (!sock.destroyed) sock.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    let size = 0;
    sock.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(c);
    });
    sock.on('end', () => {
      const body = Buffer.concat(chunks);
      if (size <= MAX_REQUEST_BYTES && body.subarray(0, RAW_MAGIC.length).equals(RAW_MAGIC)) {
        // The native shim relays env + stdin; the whole plugin runs here.
        const { env, stdin } = parseRawRequest(body);
        const call = async (_socket: string, req: CniWireRequest): Promise<CniWireResponse> =>
          stopping ? { error: { code: CniCode.TRY_AGAIN_LATER, msg: 'agent is stopping' } } : answer(req);
        void runPlugin({ env, stdin, call }).then((o) => {
          if (!sock.destroyed) sock.end(`EBFRAW ${o.exitCode}\n${o.stdout}`);
        });
        return;
      }
      if (stopping) return reply({ error: { code: CniCode.TRY_AGAIN_LATER, msg: 'agent is stopping' } });
      let req: CniWireRequest;
      try {
        if (size > MAX_REQUEST_BYTES) throw new Error(`request larger than ${MAX_REQUEST_BYTES} bytes`);
        req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CniWireRequest;
      } catch (err) {
        return reply({ error: { code: CniCode.DECODE_FAILURE, msg: 'bad request', details: (err as Error).message } });
      }
      void answer(req).then(reply);
    });
  });

  /** Runs a request and turns any failure into the wire's error shape. */
  async function answer(req: CniWireRequest): Promise<CniWireResponse> {
    try {
      return await dispatch(req);
    } catch (err) {
      const e = err instanceof CniError ? err : new CniError(CniCode.INTERNAL, 'agent failure', (err as Error).message);
      if (!(err instanceof CniError)) log?.error({ err, command: req.command, containerId: req.containerId }, 'cni request failed');
      return { error: { code: e.code, msg: e.msg, ...(e.details ? { details: e.details } : {}) } };
    }
  }

  mkdirSync(dirname(config.socketPath), { recursive: true });
  rmSync(config.socketPath, { force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.socketPath, () => { server.off('error', reject); resolve(); });
    });
  } catch (err) {
    host.close();
    throw err;
  }
  chmodSync(config.socketPath, 0o600);

  return {
    socketPath: config.socketPath,
    ipam,
    listEndpoints,
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Requests already running finish their netlink work and get their reply first.
      await Promise.all([...locks.values()]);
      await new Promise((r) => setImmediate(r));
      for (const s of sockets) s.destroy();
      await closed;
      host.close();
      rmSync(config.socketPath, { force: true });
    },
  };
}

/** The ADD result: host veth, pod interface (index 1, with sandbox) and its /32. */
export function buildResult(a: Allocation, hostIf: string, hostMac: string | undefined, podMac: string | undefined): CniResult {
  return {
    cniVersion: '1.0.0',
    interfaces: [
      { name: hostIf, ...(hostMac ? { mac: hostMac } : {}) },
      { name: a.ifname, ...(podMac ? { mac: podMac } : {}), sandbox: a.netns },
    ],
    ips: [{ address: `${a.ip}/32`, gateway: POD_GATEWAY, interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: POD_GATEWAY }],
    dns: {},
  };
}
