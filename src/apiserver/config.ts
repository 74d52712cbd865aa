// Typed configuration of the API server, built by src/cli/server.ts or tests.
import type { Logger } from '../log/logger.js';
import type { DatastoreConfig } from '../store/index.js';

export interface ApiServerConfig {
  /** Directory for PKI, kubeconfig and (by default) the SQLite database. */
  dataDir: string;
  /** Address to listen on; only loopback is expected in tests. */
  bind: string;
  /** TCP port; 0 picks a free one (the handle reports the real port). */
  port: number;
  /** Already-listening TCP sockets inherited from the parent (socket activation), served like the main listener. */
  listenFds?: number[];
  /** Address published in default/kubernetes endpoints (default: bind). */
  advertiseAddress?: string;
  /** Service CIDR; its first address is the kubernetes Service's clusterIP (default 10.96.0.0/12). */
  serviceCIDR?: string;
  /** Datastore; defaults to sqlite at DATA_DIR/state.db. */
  datastore?: DatastoreConfig;
  /** Extra bearer tokens (token -> user). An admin token is also generated in DATA_DIR/admin-token. */
  tokens?: Record<string, { user: string; groups: string[] }>;
  /** Interval between watch bookmarks (ms). */
  bookmarkIntervalMs?: number;
  /** Compact history older than this many revisions (default 10000; 0 disables), every compactIntervalMs (default 5 min). */
  compactRetainRevisions?: number;
  compactIntervalMs?: number;
  /** Events older than this are deleted (default 3600; 0 keeps them). */
  eventTTLSeconds?: number;
  logger?: Logger;
}

export interface ApiServerHandle {
  /** The bound port (useful with port 0). */
  port: number;
  url: string;
  kubeconfigPath: string;
  /** Issues a CA-signed client certificate (CN=user, O=groups) and writes a kubeconfig for it at path. */
  writeKubeconfigFor(path: string, user: string, groups: string[]): Promise<string>;
  stop(): Promise<void>;
}
