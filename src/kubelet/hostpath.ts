// hostPath volume type checks, as the upstream kubelet makes them before
// mounting: "" none, DirectoryOrCreate / FileOrCreate create what is
// missing (0755 directory with parents, 0644 empty file without parents),
// Directory, File, Socket, CharDevice and BlockDevice must already be one.
import { closeSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';

export const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'] as const;

export class HostPathError extends Error {
  readonly code = 'KUBELET_ERR_HOSTPATH';
}

function stat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HostPathError(`hostPath type check failed: ${path}: ${(err as Error).message}`);
  }
}

/** Checks (and for the *OrCreate types makes) the path; throws HostPathError with the upstream wording. */
export function checkHostPath(path: string, type: string | undefined): void {
  const t = type ?? '';
  let st = stat(path);
  const fail = (what: string) => new HostPathError(`hostPath type check failed: ${path} is not ${what}`);
  switch (t) {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!st) {
        mkdirSync(path, { recursive: true, mode: 0o755 });
        return;
      }
    // falls through
    case 'Directory':
      if (!st?.isDirectory()) throw fail('a directory');
      return;
    case 'FileOrCreate':
      if (!st) {
        try {
          closeSync(openSync(path, 'a', 0o644));
        } catch (err) {
          throw new HostPathError(`open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
        }
        st = stat(path);
      }
    // falls through
    case 'File':
      if (!st?.isFile()) throw fail('a file');
      return;
    case 'Socket':
      if (!st?.isSocket()) throw fail('a socket file');
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw fail('a character device');
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw fail('a block device');
      return;
    default:
      throw new HostPathError(`hostPath type check failed: ${path} is an invalid volume type`);
  }
}
