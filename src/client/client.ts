// The typed client: get/list/create/update/patch/delete and subresources
// for any ResourceType, over a Transport. Objects are plain src/api shapes.
import type { KubeList, KubeObject, Status } from '../api/meta.js';
import { loadKubeconfig, type ConnectionConfig } from './kubeconfig.js';
import { apiVersion, resourcePath, type ResourceType } from './resources.js';
import { createTransport, type Transport } from './rest.js';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface Client {
  readonly transport: Transport;
  get<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T>;
  list<T extends KubeObject>(rt: ResourceType, namespace?: string, opts?: ListOptions): Promise<KubeList<T>>;
  create<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, obj: T): Promise<T>;
  update<T extends KubeObject>(rt: ResourceType, obj: T, subresource?: 'status'): Promise<T>;
  patch<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string, patch: unknown, type?: PatchType, subresource?: string): Promise<T>;
  delete(rt: ResourceType, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject | Status>;
  /** POST to a subresource (binding, eviction). */
  post<T>(rt: ResourceType, namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<T>;
  /** PUT to a subresource (finalize, scale). */
  put<T>(rt: ResourceType, namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<T>;
  close(): void;
}

/** A client over an existing transport. */
export function createClient(transport: Transport): Client {
  const typed = <T extends KubeObject>(rt: ResourceType, o: T): T => {
    o.apiVersion ??= apiVersion(rt);
    o.kind ??= rt.kind;
    return o;
  };
  return {
    transport,
    async get<T extends KubeObject>(rt: ResourceType, ns: string | undefined, name: string) {
      return typed(rt, await transport.request<T>('GET', resourcePath(rt, ns, name)));
    },
    async list(rt, ns, opts = {}) {
      const { signal, ...query } = opts;
      const l = await transport.request<KubeList<never>>('GET', resourcePath(rt, ns), { query: query as Record<string, string>, signal });
      for (const o of l.items) typed(rt, o as KubeObject);
      return l;
    },
    async create<T extends KubeObject>(rt: ResourceType, ns: string | undefined, obj: T) {
      return typed(rt, await transport.request<T>('POST', resourcePath(rt, ns), { body: { apiVersion: apiVersion(rt), kind: rt.kind, ...obj } }));
    },
    async update<T extends KubeObject>(rt: ResourceType, obj: T, sub?: 'status') {
      return typed(rt, await transport.request<T>('PUT', resourcePath(rt, obj.metadata.namespace, obj.metadata.name, sub), { body: { apiVersion: apiVersion(rt), kind: rt.kind, ...obj } }));
    },
    async patch<T extends KubeObject>(rt: ResourceType, ns: string | undefined, name: string, patch: unknown, type: PatchType = 'merge', sub?: string) {
      const query = type === 'apply' ? { fieldManager: 'ebbflow-controller-manager', force: true } : undefined;
      return typed(rt, await transport.request<T>('PATCH', resourcePath(rt, ns, name, sub), { body: patch, contentType: PATCH_CONTENT[type], query }));
    },
    async delete(rt, ns, name, opts = {}) {
      const body = Object.keys(opts).length ? { apiVersion: 'v1', kind: 'DeleteOptions', ...opts } : undefined;
      return transport.request('DELETE', resourcePath(rt, ns, name), { body });
    },
    post(rt, ns, name, sub, body) {
      return transport.request('POST', resourcePath(rt, ns, name, sub), { body });
    },
    put(rt, ns, name, sub, body) {
      return transport.request('PUT', resourcePath(rt, ns, name, sub), { body });
    },
    close() {
      transport.close();
    },
  };
}

/** A client from connection settings or a kubeconfig path. */
export function connect(conn: ConnectionConfig | string): Client {
  return createClient(createTransport(typeof conn === 'string' ? loadKubeconfig(conn) : conn));
}
