// One watch request: opens the stream and yields parsed JSON-line events
// until the server ends it or the signal aborts.
import type { KubeObject, WatchEventObject } from '../api/meta.js';
import { ClientError } from './errors.js';
import { resourcePath, type ResourceType } from './resources.js';
import type { Transport } from './rest.js';

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** Streams watch events for a collection; ends when the server closes the stream. */
export async function* watch<T extends KubeObject>(transport: Transport, rt: ResourceType, namespace: string | undefined, opts: WatchOptions): AsyncGenerator<WatchEventObject<T>> {
  const { signal, ...rest } = opts;
  const res = await transport.stream(resourcePath(rt, namespace), { query: { watch: 'true', ...rest }, signal });
  let buf = '';
  try {
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let ev: WatchEventObject<T>;
        try {
          ev = JSON.parse(line) as WatchEventObject<T>;
        } catch {
          throw new ClientError('CLIENT_ERR_HTTP', `malformed watch event: ${line.slice(0, 200)}`);
        }
        yield ev;
      }
    }
  } catch (err) {
    if (signal?.aborted) return;
    if (err instanceof ClientError) throw err;
    throw new ClientError('CLIENT_ERR_NETWORK', `watch ${rt.plural}: ${(err as Error).message}`);
  } finally {
    res.destroy();
  }
}
