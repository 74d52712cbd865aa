// A CRI runtime.v1 client over @grpc/grpc-js on a unix socket: every call
// has a deadline, every failure becomes a CriError carrying the gRPC code.
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { CriError } from './errors.js';
import { criRoot } from './messages.js';
import type * as T from './types.js';

export interface CriClientOptions {
  /** containerd's socket path. */
  address: string;
  /** Default deadline per call (default 10 s); long calls pass their own. */
  timeoutMs?: number;
}

export interface CriClient {
  /** The runtime's socket path (finds the runtime process, e.g. its network namespace). */
  readonly address: string;
  version(): Promise<T.VersionResponse>;
  status(): Promise<T.RuntimeStatus>;
  runPodSandbox(config: T.PodSandboxConfig, timeoutMs?: number): Promise<string>;
  stopPodSandbox(id: string, timeoutMs?: number): Promise<void>;
  removePodSandbox(id: string, timeoutMs?: number): Promise<void>;
  podSandboxStatus(id: string): Promise<T.PodSandboxStatus>;
  listPodSandbox(filter?: T.PodSandboxFilter): Promise<T.PodSandbox[]>;
  createContainer(podSandboxId: string, config: T.ContainerConfig, sandboxConfig: T.PodSandboxConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Stops with a grace period in seconds; the deadline covers it. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  listContainers(filter?: T.ContainerFilter): Promise<T.Container[]>;
  containerStatus(id: string): Promise<T.ContainerStatus>;
  execSync(id: string, cmd: string[], timeoutSeconds: number): Promise<T.ExecSyncResponse>;
  /** The runtime's streaming-server URL for an exec session (CRI Exec). */
  exec(id: string, cmd: string[], flags: T.StreamFlags): Promise<string>;
  /** The streaming-server URL for attaching to the container's main process (CRI Attach). */
  attach(id: string, flags: T.StreamFlags): Promise<string>;
  /** The streaming-server URL for forwarding ports into a sandbox (CRI PortForward); ports may be empty (SPDY names them per stream). */
  portForward(podSandboxId: string, ports: number[]): Promise<string>;
  /** The image if present, else undefined. */
  imageStatus(image: string): Promise<T.Image | undefined>;
  pullImage(image: string, sandboxConfig?: T.PodSandboxConfig, timeoutMs?: number): Promise<string>;
  listImages(): Promise<T.Image[]>;
  close(): void;
}

const RUNTIME = '/runtime.v1.RuntimeService/';
const IMAGES = '/runtime.v1.ImageService/';
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

/** Connects lazily to the socket; calls fail with CriError (code UNAVAILABLE when nothing listens). */
export function createCriClient(opts: CriClientOptions): CriClient {
  const ns = criRoot();
  const type = (n: string) => ns.lookupType(n);
  const client = new grpc.Client(`unix://${opts.address}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 << 20,
  });
  const defaultTimeout = opts.timeoutMs ?? 10_000;

  function call<Res>(service: string, method: string, req: object, timeoutMs = defaultTimeout): Promise<Res> {
    const reqType = type(`${method}Request`);
    const resType = type(`${method}Response`);
    // fromObject (not verify) so enums may be given by name, as toObject returns them.
    let bytes: Buffer;
    try {
      bytes = Buffer.from(reqType.encode(reqType.fromObject(req)).finish());
    } catch (err) {
      return Promise.reject(new CriError(method, grpc.status.INVALID_ARGUMENT, `request does not fit ${method}Request: ${String(err)}`));
    }
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        service + method,
        () => bytes,
        (b: Buffer) => resType.toObject(resType.decode(b), TO_OBJECT) as Res,
        req,
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + timeoutMs) },
        (err, res) => {
          if (err) reject(new CriError(method, err.code ?? grpc.status.UNKNOWN, err.details || err.message));
          else resolve(res as Res);
        },
      );
    });
  }
  const rt = <R>(m: string, req: object, t?: number) => call<R>(RUNTIME, m, req, t);
  const img = <R>(m: string, req: object, t?: number) => call<R>(IMAGES, m, req, t);

  return {
    address: opts.address,
    version: () => rt<T.VersionResponse>('Version', { version: 'v1' }),
    async status() {
      return (await rt<{ status: T.RuntimeStatus }>('Status', {})).status;
    },
    async runPodSandbox(config, t = 120_000) {
      return (await rt<{ podSandboxId: string }>('RunPodSandbox', { config }, t)).podSandboxId;
    },
    async stopPodSandbox(id, t = 60_000) {
      await rt('StopPodSandbox', { podSandboxId: id }, t);
    },
    async removePodSandbox(id, t = 60_000) {
      await rt('RemovePodSandbox', { podSandboxId: id }, t);
    },
    async podSandboxStatus(id) {
      return (await rt<{ status: T.PodSandboxStatus }>('PodSandboxStatus', { podSandboxId: id })).status;
    },
    async listPodSandbox(filter) {
      return (await rt<{ items: T.PodSandbox[] }>('ListPodSandbox', filter ? { filter } : {})).items;
    },
    async createContainer(podSandboxId, config, sandboxConfig) {
      return (await rt<{ containerId: string }>('CreateContainer', { podSandboxId, config, sandboxConfig }, 60_000)).containerId;
    },
    async startContainer(id) {
      await rt('StartContainer', { containerId: id }, 60_000);
    },
    async stopContainer(id, graceSeconds) {
      await rt('StopContainer', { containerId: id, timeout: graceSeconds }, graceSeconds * 1000 + 15_000);
    },
    async removeContainer(id) {
      await rt('RemoveContainer', { containerId: id }, 30_000);
    },
    async listContainers(filter) {
      return (await rt<{ containers: T.Container[] }>('ListContainers', filter ? { filter } : {})).containers;
    },
    async containerStatus(id) {
      return (await rt<{ status: T.ContainerStatus }>('ContainerStatus', { containerId: id })).status;
    },
    async execSync(id, cmd, timeoutSeconds) {
      return rt<T.ExecSyncResponse>('ExecSync', { containerId: id, cmd, timeout: timeoutSeconds }, timeoutSeconds * 1000 + 5000);
    },
    async exec(id, cmd, flags) {
      return (await rt<{ url: string }>('Exec', { containerId: id, cmd, ...flags })).url;
    },
    async attach(id, flags) {
      return (await rt<{ url: string }>('Attach', { containerId: id, ...flags })).url;
    },
    async portForward(podSandboxId, ports) {
      return (await rt<{ url: string }>('PortForward', { podSandboxId, port: ports })).url;
    },
    async imageStatus(image) {
      const r = await img<{ image: T.Image | null }>('ImageStatus', { image: { image } });
      return r.image && r.image.id ? r.image : undefined;
    },
    async pullImage(image, sandboxConfig, t = 120_000) {
      return (await img<{ imageRef: string }>('PullImage', { image: { image }, ...(sandboxConfig ? { sandboxConfig } : {}) }, t)).imageRef;
    },
    async listImages() {
      return (await img<{ images: T.Image[] }>('ListImages', {})).images;
    },
    close: () => client.close(),
  };
}
