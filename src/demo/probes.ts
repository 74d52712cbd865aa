// The probe programs (probe-server.mjs answers with its name, probe-client.mjs
// counts which backend answered) run as separate processes inside pod
// namespaces and cgroups, by the demo and by the tests.
import { join } from 'node:path';
import { packageRoot } from '../dataplane/paths.js';

/** Absolute path of a probe script; they ship as plain .mjs under src/demo. */
export function probeScript(kind: 'server' | 'client'): string {
  return join(packageRoot(), 'src', 'demo', `probe-${kind}.mjs`);
}

export interface ProbeResult {
  backends: Record<string, number>;
  peers: Record<string, number>;
  /** Per backend: the client addresses it saw, with counts. */
  sources: Record<string, Record<string, number>>;
  errors: Record<string, number>;
  ok: number;
}
