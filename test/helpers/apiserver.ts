// Test helpers: an in-process API server on a free loopback port with a temp
// data dir, and a kubectl runner pointed at its kubeconfig.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, type ApiServerHandle } from '../../src/apiserver/server.js';
import type { ApiServerConfig } from '../../src/apiserver/config.js';

export interface TestServer {
  handle: ApiServerHandle;
  dir: string;
  kubeconfig: string;
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

/** Starts a server with a fresh data dir; close() stops it and removes the dir. */
export async function startTestServer(extra: Partial<ApiServerConfig> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ebbflow-apiserver-'));
  const handle = await start({ dataDir: dir, bind: '127.0.0.1', port: 0, ...extra });
  const kubeconfig = handle.kubeconfigPath;
  return {
    handle,
    dir,
    kubeconfig,
    kubectl(args, input) {
      return new Promise((resolve) => {
        const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kubectl-cache'), ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
          const code = err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        });
        if (input !== undefined) {
          child.stdin?.end(input);
        }
      });
    },
    async close() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
