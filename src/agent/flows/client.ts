// A small client of the Observer gRPC service, used by `ebbflow observe`
// and the tests.
import * as grpc from '@grpc/grpc-js';
import {
  observerService, type GetFlowsRequest, type GetFlowsResponse, type ServerStatusResponse,
} from './wire.js';

export interface ObserverClient {
  /** Server-streaming GetFlows; read it with `for await` or events. */
  getFlows(req: GetFlowsRequest): grpc.ClientReadableStream<GetFlowsResponse>;
  serverStatus(timeoutMs?: number): Promise<ServerStatusResponse>;
  close(): void;
}

/** Connects to an Observer at host:port (plaintext; it listens on loopback). */
export function connectObserver(address: string): ObserverClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const m = observerService;
  return {
    getFlows(req) {
      return client.makeServerStreamRequest(m.GetFlows.path, m.GetFlows.requestSerialize, m.GetFlows.responseDeserialize, req);
    },
    serverStatus(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          m.ServerStatus.path, m.ServerStatus.requestSerialize, m.ServerStatus.responseDeserialize, {},
          { deadline: Date.now() + timeoutMs },
          (err, res) => (err ? reject(err) : resolve(res!)),
        );
      });
    },
    close() {
      client.close();
    },
  };
}
