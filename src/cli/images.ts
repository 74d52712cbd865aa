// `ebbflow images build|import`: the local OCI images pods use here (no
// registry is reachable): a pause image from our own C program and a
// busybox image from Debian's busybox-static, as archives, and their import
// into a node's containerd.
import { parseArgs } from 'node:util';
import { BUSYBOX_IMAGE, importImage, PAUSE_IMAGE } from '../kubelet/images.js';
import { buildImageArchives } from '../kubelet/node.js';

const USAGE = `usage:
  ebbflow images build [--out DIR]                      writes pause.tar and busybox.tar (default DIR: ./images)
  ebbflow images import --address CONTAINERD_SOCK FILE...  imports OCI archives into the k8s.io namespace`;

export async function runImages(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { out: { type: 'string' }, address: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (verb === 'build') {
    const files = await buildImageArchives(values.out ?? 'images');
    process.stdout.write(`${PAUSE_IMAGE}\t${files.pause}\n${BUSYBOX_IMAGE}\t${files.busybox}\n`);
    return 0;
  }
  if (verb === 'import' && values.address && positionals.length > 0) {
    for (const f of positionals) {
      await importImage(f, values.address);
      process.stdout.write(`imported ${f}\n`);
    }
    return 0;
  }
  process.stderr.write(USAGE + '\n');
  return 2;
}
