// Errors of the kubelet component: typed, with a stable code.

export type KubeletErrorCode =
  | 'KUBELET_ERR_CONTAINERD_START'
  | 'KUBELET_ERR_CONTAINERD_TIMEOUT'
  | 'KUBELET_ERR_IMAGE_BUILD'
  | 'KUBELET_ERR_IMAGE_IMPORT'
  | 'KUBELET_ERR_CRI';

export class KubeletError extends Error {
  constructor(readonly code: KubeletErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeletError';
  }
}
