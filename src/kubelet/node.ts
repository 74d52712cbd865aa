// One node's pod runtime as the CLI starts it: our containerd (inside the
// node namespace when given) with the images imported, then the kubelet.
// stop() stops the kubelet, optionally removes every pod sandbox (so no
// shim, mount or veth outlives the node), stops containerd by pid and
// removes what is left of the pods' cgroup parent.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { forComponent, type Logger } from '../log/logger.js';
import { checkCgroupParent, removeCgroupParent } from './cgroups.js';
import { startContainerd, type ContainerdHandle } from './containerd.js';
import { createCriClient } from './cri/client.js';
import { BUSYBOX_IMAGE, PAUSE_IMAGE, buildBusyboxImage, buildPauseImage, importImage, writeArchive } from './images.js';
import { startKubelet, type KubeletConfig, type KubeletHandle } from './kubelet.js';
import type { KubeletServerConfig } from './server.js';

export interface NodeRuntimeConfig {
  node: string;
  kubeconfig: string;
  podCIDR: string;
  nodeIP: string;
  /** containerd's dirs, pod logs and volumes go under here. */
  runDir: string;
  /** Node network namespace path (containerd and so the pods' CNI run there). */
  netns?: string;
  /** Where the agent installed ebbflow-cni and its conflist. */
  cniBinDir: string;
  cniConfDir: string;
  /** cgroupfs parent of the pods, /ebbflow-<name>. */
  cgroupParent: string;
  /** OCI archives to import at start; default: build and import our pause and busybox images. */
  images?: string[];
  server?: KubeletServerConfig;
  kubelet?: Partial<KubeletConfig>;
  logger: Logger;
}

export interface NodeRuntimeHandle {
  readonly containerd: ContainerdHandle;
  readonly kubelet: KubeletHandle;
  /** Stops the kubelet (pods keep running) and starts a new one with the same config. */
  restartKubelet(): Promise<KubeletHandle>;
  /** Stops the node; with removePods every sandbox is stopped and removed first. */
  stop(opts?: { removePods?: boolean }): Promise<void>;
}

/** Builds pause.tar and busybox.tar into dir; returns their paths. */
export async function buildImageArchives(dir: string): Promise<{ pause: string; busybox: string }> {
  mkdirSync(dir, { recursive: true });
  const pause = join(dir, 'pause.tar');
  const busybox = join(dir, 'busybox.tar');
  writeArchive(pause, await buildPauseImage(PAUSE_IMAGE));
  writeArchive(busybox, await buildBusyboxImage(BUSYBOX_IMAGE));
  return { pause, busybox };
}

export async function startNodeRuntime(config: NodeRuntimeConfig): Promise<NodeRuntimeHandle> {
  const log = forComponent(config.logger, 'node');
  checkCgroupParent(config.cgroupParent);
  const containerd = await startContainerd({
    runDir: join(config.runDir, 'containerd'), sandboxImage: PAUSE_IMAGE, cniBinDir: config.cniBinDir, cniConfDir: config.cniConfDir,
    netns: config.netns, logger: config.logger,
  });
  let kubelet: KubeletHandle | undefined;
  let kubeletConfig: KubeletConfig | undefined;
  const stop = async (opts: { removePods?: boolean } = {}) => {
    await kubelet?.stop();
    if (opts.removePods) {
      // The kubelet closed its CRI client; a fresh one removes every sandbox
      // (stopping a sandbox runs CNI DEL, so the agent must still be serving).
      const cri = createCriClient({ address: containerd.address });
      try {
        const sandboxes = await cri.listPodSandbox().catch((err: Error) => {
          log.warn({ err: err.message }, 'list sandboxes');
          return [];
        });
        for (const b of sandboxes) {
          await cri.stopPodSandbox(b.id).catch((err: Error) => log.warn({ err: err.message }, 'stop sandbox'));
          await cri.removePodSandbox(b.id).catch((err: Error) => log.warn({ err: err.message }, 'remove sandbox'));
        }
      } finally {
        cri.close();
      }
    }
    await containerd.stop();
    if (opts.removePods) {
      const left = removeCgroupParent(config.cgroupParent);
      if (left.length) log.warn({ left }, 'cgroups still in use');
    }
  };
  try {
    const images = config.images ?? Object.values(await buildImageArchives(join(config.runDir, 'images')));
    for (const f of images) await importImage(f, containerd.address);
    kubeletConfig = {
      node: config.node, kubeconfig: config.kubeconfig, criAddress: containerd.address, podCIDR: config.podCIDR, nodeIP: config.nodeIP,
      cgroupParent: config.cgroupParent, logRoot: join(config.runDir, 'pods'), volumeRoot: join(config.runDir, 'volumes'), netns: config.netns,
      server: config.server, logger: config.logger, ...config.kubelet,
    };
    kubelet = await startKubelet(kubeletConfig);
  } catch (err) {
    await stop({ removePods: true }).catch(() => undefined);
    throw err;
  }
  return {
    containerd,
    get kubelet() {
      return kubelet!;
    },
    async restartKubelet() {
      await kubelet!.stop();
      kubelet = undefined;
      kubelet = await startKubelet(kubeletConfig!);
      return kubelet;
    },
    stop,
  };
}
