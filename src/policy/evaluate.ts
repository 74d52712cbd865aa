// Answers the reference model's question from the compiler's output alone:
// the peer's identity comes from the ipcache (as the BPF program does), then
// the source endpoint's egress entries and the destination endpoint's
// ingress entries are searched. Tests compare this with model.ts.
import type { CompiledPolicies, Direction, EndpointPolicy } from './compiler.js';
import { IDENTITY_WORLD } from './identity.js';
import type { Ipcache } from './ipcache.js';
import { endpointIp, type Endpoint, type ModelOptions } from './model.js';
import { objectKey, PROTO, type Protocol } from './types.js';

/** True when `policy` lets traffic with `peerIdentity` pass in `direction`. */
export function endpointAllows(policy: EndpointPolicy | undefined, direction: Direction, peerIdentity: number, proto: number, port: number): boolean {
  if (!policy) return true;
  if (direction === 'ingress' ? !policy.ingressEnforced : !policy.egressEnforced) return true;
  return policy.entries.some(
    (e) =>
      e.direction === direction &&
      (e.identity === 0 || e.identity === peerIdentity) &&
      (e.proto === 0 || e.proto === proto) &&
      ((e.portStart === 0 && e.portEnd === 0) || (port >= e.portStart && port <= e.portEnd)),
  );
}

/** The compiled equivalent of model.allowed. */
export function evaluateCompiled(
  compiled: CompiledPolicies,
  ipcache: Ipcache,
  from: Endpoint,
  to: Endpoint,
  proto: Protocol,
  port: number,
  opts: ModelOptions = {},
): boolean {
  if ('pod' in from && 'pod' in to && objectKey(from.pod.metadata) === objectKey(to.pod.metadata) && (opts.loopback ?? 'allow') === 'allow') return true;
  const p = PROTO[proto];
  const identityOf = (ep: Endpoint) => {
    const ip = endpointIp(ep);
    return (ip !== undefined ? ipcache.lookup(ip) : undefined) ?? IDENTITY_WORLD;
  };
  if ('pod' in from && !endpointAllows(compiled.endpoints.get(objectKey(from.pod.metadata)), 'egress', identityOf(to), p, port)) return false;
  if ('pod' in to && !endpointAllows(compiled.endpoints.get(objectKey(to.pod.metadata)), 'ingress', identityOf(from), p, port)) return false;
  return true;
}
