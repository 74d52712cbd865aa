// Drives the dataplane from a file of Services and EndpointSlices instead
// of the API server: the standalone mode behind `ebbflow lb apply`, used to
// run and restart the load balancer on its own. Each sync is a full sync,
// so restarting with the same file changes nothing in the maps.
import { readFile } from 'node:fs/promises';
import { loadDataplane, type Dataplane, type MapSizes } from '../dataplane/loader.js';
import type { EndpointSliceShape, ServiceShape } from '../dataplane/lb-model.js';
import { ServiceTable, type SyncStats } from '../dataplane/service-table.js';
import { netnsPath } from '../netns/index.js';

export interface FileSyncConfig {
  node: string;
  pinRoot?: string;
  file: string;
  /** Host-side pod interfaces to attach, as [netns name or '' for this one, ifname]. */
  endpoints: [string, string][];
  /** cgroup v2 directories that get socket-level LB. */
  socketLbCgroups: string[];
  mapSizes?: MapSizes;
}

export interface FileSyncHandle {
  readonly dataplane: Dataplane;
  readonly table: ServiceTable;
  /** Re-reads the file and converges the maps to it. */
  resync(): Promise<SyncStats>;
  /** Closes fds; maps, programs and attachments stay in place. */
  stop(): void;
}

export class ServicesFileError extends Error {
  readonly code = 'EBF_SERVICES_FILE';
}

/** Reads {services, endpointSlices} (or a Kubernetes List of both kinds). */
export async function readServicesFile(path: string): Promise<{ services: ServiceShape[]; slices: EndpointSliceShape[] }> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ServicesFileError(`cannot read services file ${path}: ${(err as Error).message}`);
  }
  const d = doc as { services?: unknown; endpointSlices?: unknown; items?: { kind?: string }[] };
  if (Array.isArray(d.items)) {
    return {
      services: d.items.filter((i) => i.kind === 'Service') as unknown as ServiceShape[],
      slices: d.items.filter((i) => i.kind === 'EndpointSlice') as unknown as EndpointSliceShape[],
    };
  }
  if (!Array.isArray(d.services) || !Array.isArray(d.endpointSlices)) {
    throw new ServicesFileError(`${path}: expected {"services": [...], "endpointSlices": [...]} or a List`);
  }
  return { services: d.services as ServiceShape[], slices: d.endpointSlices as EndpointSliceShape[] };
}

export async function startFileSync(config: FileSyncConfig): Promise<FileSyncHandle> {
  const initial = await readServicesFile(config.file);
  const dataplane = await loadDataplane({ node: config.node, pinRoot: config.pinRoot, mapSizes: config.mapSizes });
  try {
    for (const [ns, ifname] of config.endpoints) {
      await dataplane.attachEndpoint({ netns: ns ? netnsPath(ns) : undefined, ifname });
    }
    for (const cg of config.socketLbCgroups) dataplane.attachSocketLb(cg);
    const table = ServiceTable.restore(dataplane.lb);
    await table.fullSync(initial.services, initial.slices);
    return {
      dataplane,
      table,
      async resync() {
        const { services, slices } = await readServicesFile(config.file);
        return table.fullSync(services, slices);
      },
      stop: () => dataplane.close(),
    };
  } catch (err) {
    dataplane.close();
    throw err;
  }
}
