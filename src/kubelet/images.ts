// Small OCI image archives built by hand (oci-layout, index.json naming the
// image, manifest, config, one gzip'd layer) and their import into a
// containerd: the pause image from our own static C program, and a busybox
// image from Debian's busybox-static with its applet links.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { KubeletError } from './errors.js';
import { tarArchive, type TarEntry } from './tar.js';

export const PAUSE_IMAGE = 'localhost/ebbflow/pause:3.9';
export const BUSYBOX_IMAGE = 'localhost/ebbflow/busybox:1';
export const CTR_BIN = '/usr/bin/ctr';
export const BUSYBOX_BIN = '/usr/bin/busybox';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface ImageSpec {
  name: string;
  layer: TarEntry[];
  config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string };
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolvePromise({ stdout, stderr });
    });
  });
}

/** An OCI image layout archive (as a tar buffer) holding one image with one layer. */
export function ociArchive(spec: ImageSpec): Buffer {
  const layerTar = tarArchive(spec.layer);
  const layer = gzipSync(layerTar, { level: 6 });
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...spec.config },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
    history: [{ created_by: 'ebbflow images build' }],
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layer)}`, size: layer.length }],
  }));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(manifest)}`, size: manifest.length,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'org.opencontainers.image.ref.name': spec.name },
    }],
  }));
  const blob = (b: Buffer): TarEntry => ({ type: 'file', path: `blobs/sha256/${sha256(b)}`, data: b });
  return tarArchive([
    { type: 'file', path: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { type: 'file', path: 'index.json', data: index },
    { type: 'dir', path: 'blobs' },
    { type: 'dir', path: 'blobs/sha256' },
    blob(config), blob(manifest), blob(layer),
  ]);
}

/** The pause program's C source (src/kubelet/pause/pause.c), found from this module under src/ or dist/src/. */
export function pauseSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(join('dist', 'src', 'kubelet')) ? resolve(here, '..', '..', '..') : resolve(here, '..', '..');
  return join(root, 'src', 'kubelet', 'pause', 'pause.c');
}

/** Compiles pause.c statically and returns the pause image archive. */
export async function buildPauseImage(name = PAUSE_IMAGE): Promise<Buffer> {
  const work = mkdtempSync(join(tmpdir(), 'ebbflow-pause-'));
  try {
    const bin = join(work, 'pause');
    try {
      await run('gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', bin, pauseSource()]);
    } catch (err) {
      throw new KubeletError('KUBELET_ERR_IMAGE_BUILD', `gcc -static pause.c failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
    }
    return ociArchive({ name, layer: [{ type: 'file', path: 'pause', data: readFileSync(bin), mode: 0o755 }], config: { Entrypoint: ['/pause'] } });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Compiles one of our small C programs (src/kubelet/pause/<file>) statically; returns the binary. */
async function compileStatic(file: string, out: string): Promise<Buffer> {
  try {
    await run('gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', out, join(dirname(pauseSource()), file)]);
  } catch (err) {
    throw new KubeletError('KUBELET_ERR_IMAGE_BUILD', `gcc -static ${file} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
  return readFileSync(out);
}

/** The busybox image: /bin/busybox with a link per applet, /bin/ebf-udp (UDP
 * echo server and probe, which busybox lacks), /etc/passwd and group, /tmp, /www. */
export async function buildBusyboxImage(name = BUSYBOX_IMAGE, busybox = BUSYBOX_BIN): Promise<Buffer> {
  const work = mkdtempSync(join(tmpdir(), 'ebbflow-udp-'));
  let udp: Buffer;
  try {
    udp = await compileStatic('udp-echo.c', join(work, 'ebf-udp'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  let applets: string[];
  try {
    applets = (await run(busybox, ['--list'])).stdout.split('\n').map((s) => s.trim()).filter((s) => /^[\w.[-]+$/.test(s) && s !== 'busybox');
  } catch (err) {
    throw new KubeletError('KUBELET_ERR_IMAGE_BUILD', `${busybox} --list failed (is busybox-static installed?): ${String(err)}`, { cause: err });
  }
  const layer: TarEntry[] = [
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', data: readFileSync(busybox), mode: 0o755 },
    { type: 'file', path: 'bin/ebf-udp', data: udp, mode: 0o755 },
    ...applets.map((a): TarEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'etc' },
    { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n') },
    { type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nnobody:x:65534:\n') },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'www' },
  ];
  return ociArchive({ name, layer, config: { Cmd: ['sh'] } });
}

/** Writes an archive to a file. */
export function writeArchive(path: string, archive: Buffer): void {
  writeFileSync(path, archive);
}

/** Imports an OCI archive into a containerd's namespace (k8s.io for CRI) with ctr. */
export async function importImage(tarPath: string, address: string, namespace = 'k8s.io'): Promise<void> {
  try {
    await run(CTR_BIN, ['--address', address, '-n', namespace, 'images', 'import', '--snapshotter', 'overlayfs', tarPath]);
  } catch (err) {
    throw new KubeletError('KUBELET_ERR_IMAGE_IMPORT', `ctr images import ${tarPath}: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
}
