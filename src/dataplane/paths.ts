// Where ebbflow's build outputs and bpffs pins live.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Default bpffs directory under which each node pins its maps and links. */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/ebbflow';

/** The package root (the directory holding package.json), from src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** Directory of the compiled BPF objects. */
export function bpfObjectDir(): string {
  return join(packageRoot(), 'build', 'bpf');
}
