// The kubelet's runtime pieces against a real containerd 1.6: our images
// built by hand and imported with ctr, containerd started with its own
// config and dirs inside a node namespace, CRI Version/Status/ImageStatus
// over our client, and a pull from nowhere failing fast with a clear error.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startContainerd, type ContainerdHandle } from '../../src/kubelet/containerd.js';
import { createCriClient, type CriClient } from '../../src/kubelet/cri/client.js';
import { CriError } from '../../src/kubelet/cri/errors.js';
import { BUSYBOX_IMAGE, PAUSE_IMAGE, buildBusyboxImage, buildPauseImage, importImage, writeArchive } from '../../src/kubelet/images.js';
import { createLogger } from '../../src/log/logger.js';
import { createNetns, deleteNetns, netnsPath } from '../../src/netns/index.js';

const root = process.getuid?.() === 0;
const haveContainerd = existsSync('/usr/bin/containerd') && existsSync('/usr/bin/ctr') && existsSync('/usr/bin/busybox');
if (!root) console.log('kubelet-runtime: skipped, needs root for namespaces and containerd');
else if (!haveContainerd) console.log('kubelet-runtime: skipped, containerd, ctr or busybox-static not installed');
const PREFIX = 'ebft-klr';

describe.skipIf(!root || !haveContainerd)('containerd and CRI for the kubelet', () => {
  let dir: string;
  let containerd: ContainerdHandle | undefined;
  let cri: CriClient;
  // Our pid in the name: a concurrent run of the suite never deletes this node.
  const nodeNs = `${PREFIX}${process.pid}-node`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebbflow-klr-'));
    await createNetns(nodeNs);
    containerd = await startContainerd({
      runDir: join(dir, 'run'), sandboxImage: PAUSE_IMAGE, cniBinDir: join(dir, 'cni-bin'), cniConfDir: join(dir, 'cni-conf'),
      netns: netnsPath(nodeNs), logger: createLogger({ level: 'silent' }),
    });
    cri = createCriClient({ address: containerd.address, timeoutMs: 5000 });
  }, 60_000);

  afterAll(async () => {
    cri?.close();
    await containerd?.stop();
    await deleteNetns(nodeNs).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs our containerd in the node namespace and answers CRI Version and Status', async () => {
    const v = await cri.version();
    expect(v.runtimeName).toBe('containerd');
    expect(v.runtimeApiVersion).toBe('v1');
    expect(v.runtimeVersion).toMatch(/^1\.6\./);
    const st = await cri.status();
    expect(st.conditions.find((c) => c.type === 'RuntimeReady')?.status).toBe(true);
    // No conflist installed yet: the network is reported not ready, which the kubelet must mirror.
    expect(st.conditions.find((c) => c.type === 'NetworkReady')?.status).toBe(false);
  });

  it('imports the hand-built pause and busybox images, visible through CRI ImageStatus', async () => {
    for (const [name, build] of [[PAUSE_IMAGE, buildPauseImage], [BUSYBOX_IMAGE, buildBusyboxImage]] as const) {
      const file = join(dir, `${name.split('/').pop()!.replace(':', '-')}.tar`);
      writeArchive(file, await build());
      await importImage(file, containerd!.address);
      const img = await cri.imageStatus(name);
      expect(img?.repoTags).toContain(name);
      expect(img!.size).toBeGreaterThan(100_000);
    }
    expect((await cri.listImages()).flatMap((i) => i.repoTags)).toEqual(expect.arrayContaining([PAUSE_IMAGE, BUSYBOX_IMAGE]));
  });

  it('reports a missing image as absent and fails its pull quickly with the reason', async () => {
    expect(await cri.imageStatus('localhost/ebbflow/does-not-exist:1')).toBeUndefined();
    const t0 = Date.now();
    const err = await cri.pullImage('localhost/ebbflow/does-not-exist:1', undefined, 15_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CriError);
    expect((err as CriError).method).toBe('PullImage');
    expect((err as CriError).message).toMatch(/does-not-exist/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
