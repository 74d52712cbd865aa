// Cluster-wide security identities for the agent: the StoreIdentityAllocator
// (src/policy/identity-store.ts) over ConfigMaps in kube-system, so every
// agent gives a label set the same number and numbers survive restarts of
// agents and servers (they live in the API's datastore). One ConfigMap per
// store key, named by a hash of the key, holding the key and its value;
// create-if-absent is the API's create (409 = exists), delete-if-value is a
// delete with a resourceVersion precondition.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/meta.js';
import type { Client } from '../client/client.js';
import { resources } from '../client/resources.js';
import { HeldIdentities, podIdentityKey, type IdentityResolver } from '../policy/identity.js';
import { StoreIdentityAllocator, type IdentityStore } from '../policy/identity-store.js';
import type { ClusterState, Namespace } from '../policy/types.js';

export const IDENTITY_NAMESPACE = 'kube-system';
export const IDENTITY_LABEL = 'ebbflow.io/identity-store';

interface StoreObject extends KubeObject {
  data?: { key?: string; value?: string };
}

function objectName(key: string): string {
  return `ebbflow-identity-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

const status = (err: unknown) => (err as { status?: number }).status;

/** An IdentityStore over ConfigMaps through the API server. */
export class ApiIdentityStore implements IdentityStore {
  private namespaceReady = false;

  constructor(private readonly client: Client) {}

  async createIfAbsent(key: string, value: string): Promise<{ created: boolean; value: string }> {
    await this.ensureNamespace();
    const name = objectName(key);
    try {
      await this.client.create<StoreObject>(resources.configmaps, IDENTITY_NAMESPACE, {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: IDENTITY_NAMESPACE, labels: { [IDENTITY_LABEL]: 'v1' } }, data: { key, value },
      });
      return { created: true, value };
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
    const cur = await this.read(key);
    if (cur === undefined) return this.createIfAbsent(key, value); // deleted in between: try again
    return { created: false, value: cur.value };
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.read(key))?.value;
  }

  async list(prefix: string): Promise<{ key: string; value: string }[]> {
    const items = (await this.client.list<StoreObject>(resources.configmaps, IDENTITY_NAMESPACE, { labelSelector: `${IDENTITY_LABEL}=v1` })).items;
    return items
      .filter((o) => o.data?.key?.startsWith(prefix) && o.data.value !== undefined)
      .map((o) => ({ key: o.data!.key!, value: o.data!.value! }));
  }

  async deleteIfValue(key: string, value: string): Promise<boolean> {
    const cur = await this.read(key);
    if (!cur || cur.value !== value) return false;
    try {
      await this.client.delete(resources.configmaps, IDENTITY_NAMESPACE, objectName(key), { preconditions: { resourceVersion: cur.resourceVersion } });
      return true;
    } catch (err) {
      if (status(err) === 404 || status(err) === 409) return false;
      throw err;
    }
  }

  private async read(key: string): Promise<{ value: string; resourceVersion?: string } | undefined> {
    try {
      const o = await this.client.get<StoreObject>(resources.configmaps, IDENTITY_NAMESPACE, objectName(key));
      if (o.data?.key !== key) throw new Error(`identity store object ${o.metadata.name} holds ${JSON.stringify(o.data?.key)}, not ${JSON.stringify(key)} (hash collision?)`);
      return { value: o.data.value ?? '', resourceVersion: o.metadata.resourceVersion };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  private async ensureNamespace(): Promise<void> {
    if (this.namespaceReady) return;
    try {
      await this.client.create(resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: IDENTITY_NAMESPACE } });
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
    this.namespaceReady = true;
  }
}

/**
 * The compiler's identity resolver with pod identities agreed cluster-wide:
 * prepare(state) acquires (through the store) every label set the state
 * holds and releases the ones gone, so that compiling stays synchronous.
 * CIDR identities stay node-local, as they never leave the node.
 */
export class ClusterIdentities implements IdentityResolver {
  private readonly held = new Set<string>();
  private readonly local = new HeldIdentities();

  constructor(readonly allocator: StoreIdentityAllocator) {}

  /** Loads the identities already in the store (call once at start). */
  async load(): Promise<number> {
    return (await this.allocator.load()).length;
  }

  async prepare(state: ClusterState): Promise<void> {
    const namespaces = new Map<string, Namespace>(state.namespaces.map((n) => [n.metadata.name!, n]));
    const keys = new Set(state.pods.map((p) => podIdentityKey(p, namespaces)));
    for (const k of keys) {
      if (this.held.has(k)) continue;
      await this.allocator.acquire(k);
      this.held.add(k);
    }
    for (const k of [...this.held]) {
      if (keys.has(k)) continue;
      await this.allocator.release(k);
      this.held.delete(k);
    }
  }

  pod(key: string): number {
    const id = this.allocator.lookup(key);
    if (id === undefined) throw new Error(`no cluster identity prepared for ${key}`);
    return id;
  }

  cidr(cidr: string): number {
    return this.local.cidr(cidr);
  }

  sweep(): number {
    return this.local.sweep();
  }
}

/** Cluster-wide identities for an agent talking to `client`. */
export async function clusterIdentities(client: Client): Promise<ClusterIdentities> {
  const ids = new ClusterIdentities(new StoreIdentityAllocator(new ApiIdentityStore(client)));
  await ids.load();
  return ids;
}
