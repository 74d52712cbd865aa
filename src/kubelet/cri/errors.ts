// CRI call failures: the method, the gRPC status code and the runtime's message.
import { status } from '@grpc/grpc-js';

export class CriError extends Error {
  readonly code = 'KUBELET_ERR_CRI';
  constructor(readonly method: string, readonly grpcCode: number, readonly details: string) {
    super(`CRI ${method}: ${status[grpcCode] ?? grpcCode}: ${details}`);
    this.name = 'CriError';
  }

  get notFound(): boolean {
    return this.grpcCode === status.NOT_FOUND;
  }

  get deadlineExceeded(): boolean {
    return this.grpcCode === status.DEADLINE_EXCEEDED;
  }

  get unavailable(): boolean {
    return this.grpcCode === status.UNAVAILABLE;
  }
}

/** True for a CriError saying the object does not exist. */
export function isCriNotFound(err: unknown): boolean {
  return err instanceof CriError && (err.notFound || /not found|does not exist/i.test(err.details));
}
