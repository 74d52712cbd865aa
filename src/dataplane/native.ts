// The only module that loads the native libbpf addon
// (build/native/Release/ebbflow_native.node): hand-written types for every
// export plus thin wrappers that refuse use after close and support
// `await using`. Generic BPF plumbing only; no Kubernetes knowledge here.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

/** Error thrown by every failing native call. */
export interface NativeError extends Error {
  /** Positive errno value, e.g. 2 for ENOENT. */
  errno: number;
  /** Symbolic errno name, e.g. 'ENOENT' (or 'ENOTSUPP' for kernel code 524). */
  code: string;
  /** The libbpf function or syscall that failed. */
  syscall: string;
}

/** True when `e` came from the native addon with an errno attached. */
export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).errno === 'number' && typeof (e as NativeError).syscall === 'string';
}

/** Kernel map type numbers (enum bpf_map_type) that callers commonly test for. */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  RINGBUF: 27,
} as const;

/** Flags for map update (BPF_ANY / BPF_NOEXIST / BPF_EXIST). */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

export interface MapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface ProgramInfo {
  name: string;
  section: string;
  type: number;
}

export interface BtfStructLayout {
  size: number;
  members: { name: string; offset: number; size: number }[];
}

export interface OpenOptions {
  /** Directory where LIBBPF_PIN_BY_NAME maps are pinned and reused (created if missing). */
  pinRoot: string;
  /** Per-map max_entries overrides applied before load. */
  maxEntries?: Record<string, number>;
}

export interface MapDump {
  keys: Buffer;
  values: Buffer;
  count: number;
}

export type TcDirection = 'ingress' | 'egress';

/** Where a tc hook lives: an interface by name or index, optionally inside a netns path. */
export interface TcTarget {
  netns?: string;
  ifname?: string;
  ifindex?: number;
}

export interface TcAttachOptions extends TcTarget {
  direction: TcDirection;
  progFd: number;
  handle?: number;
  priority?: number;
}

export interface TcFilterRef extends TcTarget {
  direction: TcDirection;
  handle: number;
  priority: number;
}

export interface TcAttachResult {
  ifindex: number;
  handle: number;
  priority: number;
  /** True when this call created the clsact qdisc (so the caller owns it). */
  createdHook: boolean;
}

export type CgroupAttachType =
  | 'connect4'
  | 'sendmsg4'
  | 'recvmsg4'
  | 'getpeername4'
  | 'sock_create'
  | 'ingress'
  | 'egress';

export interface CgroupAttachOptions {
  cgroupPath: string;
  progFd: number;
  attachType: CgroupAttachType;
  /** bpffs path where the link is pinned; an existing link there is updated in place. */
  pinPath: string;
}

export interface TestRunOptions {
  data: Buffer;
  repeat?: number;
  dataOutSize?: number;
  ctx?: Buffer;
}

export interface TestRunResult {
  retval: number;
  data: Buffer;
  durationNs: number;
}

export interface RingBufferStats {
  delivered: number;
  droppedInAddon: number;
  /** Set when the poll thread stopped on an error. */
  pollErrno?: number;
}

// ---- the raw binding ----------------------------------------------------

interface NativeBpfMap {
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly type: number;
  readonly name: string;
  readonly fd: number;
  lookup(key: Buffer): Buffer | null;
  update(key: Buffer, value: Buffer, flags?: number): void;
  delete(key: Buffer): boolean;
  keys(): Buffer[];
  dump(): MapDump;
  updateBatch(keys: Buffer, values: Buffer, flags?: number): Promise<number>;
  deleteBatch(keys: Buffer): Promise<number>;
  pin(path: string): void;
  close(): void;
}

interface NativeBpfObject {
  load(): Promise<void>;
  maps(): MapInfo[];
  map(name: string): NativeBpfMap;
  programs(): ProgramInfo[];
  programFd(name: string): number;
  btfStruct(name: string): BtfStructLayout | null;
  close(): void;
}

interface NativeRingBuffer {
  stats(): RingBufferStats;
  close(): void;
}

interface NativeBinding {
  BpfObject: { open(path: string, opts: OpenOptions): NativeBpfObject };
  BpfMap: { openPinned(path: string): NativeBpfMap };
  RingBuffer: new (mapFd: number, onBatch: (records: Buffer[]) => void, opts?: { maxBatch?: number }) => NativeRingBuffer;
  tcAttach(opts: TcAttachOptions): Promise<TcAttachResult>;
  tcDetach(opts: TcFilterRef): Promise<void>;
  tcQuery(opts: TcFilterRef): Promise<{ progId: number } | null>;
  tcHookDestroy(opts: TcTarget): Promise<void>;
  cgroupAttach(opts: CgroupAttachOptions): void;
  cgroupDetach(pinPath: string): boolean;
  progTestRun(progFd: number, opts: TestRunOptions): TestRunResult;
  withNetns<T>(netnsPath: string, fn: () => T): T;
  ifIndex(netnsPath: string | null, ifname: string): number;
  libbpfVersion(): string;
  numPossibleCpus(): number;
}

/** Absolute path of the compiled addon, found from the package root (works from src/ and dist/src/). */
export function nativeAddonPath(): string {
  return join(packageRoot(), 'build', 'native', 'Release', 'ebbflow_native.node');
}

let loaded: NativeBinding | undefined;

// Loaded on first use, not at import, so modules that merely import types work without the build.
function native(): NativeBinding {
  if (!loaded) {
    const path = nativeAddonPath();
    if (!existsSync(path)) throw new Error(`native addon not built: ${path} missing (run npm run build:native)`);
    loaded = createRequire(import.meta.url)(path) as NativeBinding;
  }
  return loaded;
}

// ---- wrappers -----------------------------------------------------------

function closedError(what: string): Error {
  return new Error(`${what} is closed`);
}

/**
 * An open BPF map fd: a pinned map or a map of a loaded BpfObject.
 * Promise-returning methods are async so argument errors reject instead of throwing.
 */
export class BpfMap {
  #m: NativeBpfMap | null;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly type: number;
  readonly name: string;

  private constructor(m: NativeBpfMap) {
    this.#m = m;
    this.keySize = m.keySize;
    this.valueSize = m.valueSize;
    this.maxEntries = m.maxEntries;
    this.type = m.type;
    this.name = m.name;
  }

  /** @internal wraps a map handle from the binding. */
  static fromNative(m: NativeBpfMap): BpfMap {
    return new BpfMap(m);
  }

  /** Opens a map pinned on bpffs. */
  static openPinned(path: string): BpfMap {
    return new BpfMap(native().BpfMap.openPinned(path));
  }

  get #h(): NativeBpfMap {
    if (!this.#m) throw closedError(`BpfMap ${this.name}`);
    return this.#m;
  }

  /** The map's fd (owned by this handle; valid until close). */
  get fd(): number {
    return this.#h.fd;
  }
  /** True for map types whose values are one slot per possible CPU. */
  get perCpu(): boolean {
    return [MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH].includes(this.type as 5 | 6 | 10);
  }
  /** Value, or null when absent; per-CPU maps return round_up(valueSize, 8) x possible CPUs bytes. */
  lookup(key: Buffer): Buffer | null {
    return this.#h.lookup(key);
  }
  /** Inserts or replaces one element (flags: UpdateFlags). */
  update(key: Buffer, value: Buffer, flags = 0): void {
    this.#h.update(key, value, flags);
  }
  /** Deletes one element; false when it was not there. */
  delete(key: Buffer): boolean {
    return this.#h.delete(key);
  }
  /** All keys, in kernel iteration order. */
  keys(): Buffer[] {
    return this.#h.keys();
  }
  /** All elements as concatenated fixed-size keys and values. */
  dump(): MapDump {
    return this.#h.dump();
  }
  /** Writes `keys.length / keySize` elements off the event loop; resolves to the count written. */
  async updateBatch(keys: Buffer, values: Buffer, flags = 0): Promise<number> {
    return this.#h.updateBatch(keys, values, flags);
  }
  /** Deletes the given concatenated keys (absent ones ignored); resolves to the count deleted. */
  async deleteBatch(keys: Buffer): Promise<number> {
    return this.#h.deleteBatch(keys);
  }
  /** Pins the map at a bpffs path. */
  pin(path: string): void {
    this.#h.pin(path);
  }
  /** Closes this handle's fd (the map lives on while pinned or used). */
  close(): void {
    this.#m?.close();
    this.#m = null;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** A BPF ELF object: open, optionally resize maps, load, then use its maps and programs. */
export class BpfObject {
  #o: NativeBpfObject | null;
  readonly path: string;

  private constructor(o: NativeBpfObject, path: string) {
    this.#o = o;
    this.path = path;
  }

  /** Opens an ELF object; maps pinned by name go under opts.pinRoot and are reused from there. */
  static open(path: string, opts: OpenOptions): BpfObject {
    return new BpfObject(native().BpfObject.open(path, opts), path);
  }

  get #h(): NativeBpfObject {
    if (!this.#o) throw closedError(`BpfObject ${this.path}`);
    return this.#o;
  }

  /** Creates/reuses maps and verifies + loads programs (off the event loop). */
  async load(): Promise<void> {
    return this.#h.load();
  }
  maps(): MapInfo[] {
    return this.#h.maps();
  }
  /** A new handle on one of the loaded object's maps (close it separately). */
  map(name: string): BpfMap {
    return BpfMap.fromNative(this.#h.map(name));
  }
  programs(): ProgramInfo[] {
    return this.#h.programs();
  }
  /** fd of a loaded program, owned by this object (valid until close). */
  programFd(name: string): number {
    return this.#h.programFd(name);
  }
  /** Byte layout of a struct in the object's BTF, or null when it has none by that name. */
  btfStruct(name: string): BtfStructLayout | null {
    return this.#h.btfStruct(name);
  }
  /** Releases the object's programs and map fds (pins and attachments stay). */
  close(): void {
    this.#o?.close();
    this.#o = null;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Drains a BPF ring buffer map on a native thread and hands records to `onBatch` in batches. */
export class RingBuffer {
  #r: NativeRingBuffer | null;
  #last: RingBufferStats = { delivered: 0, droppedInAddon: 0 };

  constructor(mapFd: number, onBatch: (records: Buffer[]) => void, opts?: { maxBatch?: number }) {
    // Node-API swallows exceptions thrown from thread-safe callbacks (only a
    // deprecation warning): rethrow them on the next tick as uncaught errors.
    const deliver = (records: Buffer[]): void => {
      try {
        onBatch(records);
      } catch (e) {
        process.nextTick(() => {
          throw e;
        });
      }
    };
    this.#r = new (native().RingBuffer)(mapFd, deliver, opts);
  }

  /** Records handed to JS, and records dropped because the JS queue was full. */
  stats(): RingBufferStats {
    return this.#r ? this.#r.stats() : { ...this.#last };
  }
  /** Stops and joins the poll thread; no callbacks are queued after this returns. */
  close(): void {
    if (!this.#r) return;
    this.#last = this.#r.stats();
    this.#r.close();
    this.#r = null;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Attaches a tc program (clsact, direct-action, replace) on an interface, inside `netns` if given. */
export async function tcAttach(opts: TcAttachOptions): Promise<TcAttachResult> {
  return native().tcAttach(opts);
}
/** Removes one tc filter. */
export async function tcDetach(opts: TcFilterRef): Promise<void> {
  return native().tcDetach(opts);
}
/** The program id at a tc filter slot, or null when the slot (or the clsact qdisc) is empty. */
export async function tcQuery(opts: TcFilterRef): Promise<{ progId: number } | null> {
  return native().tcQuery(opts);
}
/** Deletes the clsact qdisc with all its filters; call only for hooks you created. */
export async function tcHookDestroy(opts: TcTarget): Promise<void> {
  return native().tcHookDestroy(opts);
}
/** Attaches a cgroup program through a pinned bpf_link (or updates the link already pinned there). */
export function cgroupAttach(opts: CgroupAttachOptions): void {
  native().cgroupAttach(opts);
}
/** Detaches and unpins the link at pinPath; false when nothing was pinned there. */
export function cgroupDetach(pinPath: string): boolean {
  return native().cgroupDetach(pinPath);
}
/** Runs a loaded program on crafted input (BPF_PROG_TEST_RUN). */
export function progTestRun(progFd: number, opts: TestRunOptions): TestRunResult {
  return native().progTestRun(progFd, opts);
}
/**
 * Runs fn synchronously with the calling thread inside the netns at netnsPath, always switching back.
 * Only fn's synchronous part runs there (sockets it creates stay in that namespace); keep it short.
 */
export function withNetns<T>(netnsPath: string, fn: () => T): T {
  return native().withNetns(netnsPath, fn);
}
/** Interface index of ifname in the netns at netnsPath (null: the current namespace). */
export function ifIndex(netnsPath: string | null, ifname: string): number {
  return native().ifIndex(netnsPath, ifname);
}
export function libbpfVersion(): string {
  return native().libbpfVersion();
}
export function numPossibleCpus(): number {
  return native().numPossibleCpus();
}
