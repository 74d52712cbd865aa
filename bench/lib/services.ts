// The benchmark's synthetic Services: N ClusterIPs from 172.30.0.0/16, each
// spreading over E backend addresses 10.180.x.y (shared by all services).
import type { BenchService } from './types.js';

export const SERVICE_CIDR = '172.30.0.0/16';
/** Usable ClusterIPs: 172.30.0.1 .. 172.30.255.254 minus .0/.255 in each /24. */
export const MAX_SERVICES = 256 * 254;

/** ClusterIP of service k: 172.30.a.b walking b over 1..254 (no .0/.255). */
export function clusterIpFor(k: number): string {
  if (!Number.isInteger(k) || k < 0 || k >= MAX_SERVICES) throw new RangeError(`service index out of range: ${k}`);
  return `172.30.${Math.floor(k / 254)}.${(k % 254) + 1}`;
}

/** Backend address j: 10.180.(j>>8).(j&255), skipping .0 and .255 hosts. */
export function backendIpFor(j: number): string {
  const hi = Math.floor(j / 254);
  if (!Number.isInteger(j) || j < 0 || hi > 255) throw new RangeError(`backend index out of range: ${j}`);
  return `10.180.${hi}.${(j % 254) + 1}`;
}

/** N services `bench/svc-k` port p80 80/TCP, every one with all `backends` as endpoints. */
export function makeServices(n: number, backends: readonly string[], port = 80): BenchService[] {
  const out: BenchService[] = [];
  for (let k = 0; k < n; k++) {
    out.push({
      namespace: 'bench',
      name: `svc-${k}`,
      portName: 'p80',
      protocol: 'tcp',
      clusterIP: clusterIpFor(k),
      port: 80,
      endpoints: backends.map((ip) => ({ ip, port })),
    });
  }
  return out;
}
