// Pure pieces of the API server: protobuf request decoding, content
// negotiation, path parsing and Table formatting.
import { describe, expect, it } from 'vitest';
import { decodeProtobufObject } from '../../src/apiserver/proto.js';
import { negotiate } from '../../src/apiserver/http.js';
import { parseResourcePath } from '../../src/apiserver/rest.js';
import { humanAge, toTable } from '../../src/apiserver/table.js';
import { wantsAggregated } from '../../src/apiserver/discovery.js';
import { firstServiceIP } from '../../src/apiserver/selfservice.js';

// Minimal protobuf writer for building test envelopes.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const field = (num: number, body: Buffer | number[]): Buffer => Buffer.from([...varint((num << 3) | 2), ...varint(body.length), ...body]);
const str = (num: number, s: string) => field(num, [...Buffer.from(s)]);
const int = (num: number, n: number) => Buffer.from([...varint(num << 3), ...varint(n)]);
const msg = (...parts: Buffer[]) => Buffer.concat(parts);

describe('protobuf decoding', () => {
  it('decodes a k8s envelope holding a ConfigMap with labels, data and binaryData', () => {
    const meta = msg(str(1, 'cm1'), str(3, 'default'), field(11, msg(str(1, 'app'), str(2, 'web'))), field(8, msg()));
    const cm = msg(field(1, meta), field(2, msg(str(1, 'k'), str(2, 'v'))), field(3, msg(str(1, 'bin'), field(2, [1, 2, 3]))));
    const unknown = msg(field(1, msg(str(1, 'v1'), str(2, 'ConfigMap'))), field(2, cm));
    const obj = decodeProtobufObject(Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), unknown]));
    expect(obj).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', namespace: 'default', labels: { app: 'web' } }, data: { k: 'v' }, binaryData: { bin: 'AQID' } });
  });
  it('decodes nested messages, repeated fields and int-or-string', () => {
    // apps/v1 Deployment: spec.replicas=3, spec.template.spec.containers=[{name, image, ports:[{containerPort:80}]}], strategy.rollingUpdate.maxSurge="50%"
    const container = msg(str(1, 'c'), str(2, 'nginx'), field(6, msg(int(3, 80))));
    const podSpec = msg(field(2, container));
    const spec = msg(int(1, 3), field(3, msg(field(2, podSpec))), field(4, msg(str(1, 'RollingUpdate'), field(2, msg(field(2, msg(int(1, 1), str(3, '50%'))))))));
    const d = msg(field(1, msg(str(1, 'd'))), field(2, spec));
    const obj = decodeProtobufObject(Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), field(1, msg(str(1, 'apps/v1'), str(2, 'Deployment'))), field(2, d)]));
    expect(obj.spec).toEqual({ replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '50%' } } });
  });
  it('inlines embedded structs the way their JSON does', () => {
    // networking/v1 IngressRule{host:1, ingressRuleValue:2 (inline){http:1{paths:1[{path:1}]}}}
    const rule = msg(str(1, 'foo.com'), field(2, msg(field(1, msg(field(1, msg(str(1, '/bar'))))))));
    const ing = msg(field(1, msg(str(1, 'i'))), field(2, msg(field(3, rule))));
    const obj = decodeProtobufObject(Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), field(1, msg(str(1, 'networking.k8s.io/v1'), str(2, 'Ingress'))), field(2, ing)]));
    expect(obj.spec).toEqual({ rules: [{ host: 'foo.com', http: { paths: [{ path: '/bar' }] } }] });
  });
  it('rejects garbage with a typed 400', () => {
    expect(() => decodeProtobufObject(Buffer.from('nope'))).toThrow(/envelope/);
    expect(() => decodeProtobufObject(Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), Buffer.from([0x0a, 0x50, 0x01])]))).toThrow(/truncated/);
  });
});

describe('negotiation and routing', () => {
  it('picks Table, JSON or YAML from Accept and refuses protobuf-only clients', () => {
    expect(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io,application/json').format).toBe('table');
    expect(negotiate('application/vnd.kubernetes.protobuf, */*').format).toBe('json');
    expect(negotiate('application/yaml').format).toBe('yaml');
    expect(negotiate(undefined).format).toBe('json');
    expect(() => negotiate('application/vnd.kubernetes.protobuf')).toThrow(/media types/);
    expect(wantsAggregated('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json')).toBe('v2');
    expect(wantsAggregated('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList')).toBe('v2beta1');
    expect(wantsAggregated('application/json')).toBeUndefined();
  });
  it('parses resource paths including namespaces, subresources and legacy watch', () => {
    expect(parseResourcePath(['api', 'v1', 'namespaces', 'ns', 'pods', 'p', 'status'])).toMatchObject({ group: '', namespace: 'ns', plural: 'pods', name: 'p', subresource: 'status' });
    expect(parseResourcePath(['api', 'v1', 'namespaces', 'ns'])).toMatchObject({ plural: 'namespaces', name: 'ns' });
    expect(parseResourcePath(['api', 'v1', 'namespaces', 'ns', 'finalize'])).toMatchObject({ plural: 'namespaces', name: 'ns', subresource: 'finalize' });
    expect(parseResourcePath(['apis', 'apps', 'v1', 'watch', 'namespaces', 'x', 'deployments'])).toMatchObject({ group: 'apps', watchPath: true, namespace: 'x', plural: 'deployments' });
    expect(parseResourcePath(['apis', 'apps', 'v1', 'a', 'b', 'c', 'd'])).toBeUndefined();
  });
});

describe('tables', () => {
  it('formats ages like kubectl', () => {
    const now = Date.parse('2026-01-10T00:00:00Z');
    const ago = (s: number) => new Date(now - s * 1000).toISOString();
    expect([5, 119, 150, 600, 3 * 3600 + 120, 30 * 3600, 3 * 86400 + 3600, 30 * 86400, 800 * 86400].map((s) => humanAge(ago(s), now))).toEqual(['5s', '119s', '2m30s', '10m', '3h2m', '30h', '3d1h', '30d', '2y']);
  });
  it('renders pod and service rows', () => {
    const pod = { metadata: { name: 'p', creationTimestamp: new Date().toISOString() }, spec: { containers: [{ name: 'a' }, { name: 'b' }], nodeName: 'n1' }, status: { phase: 'Running', podIP: '10.0.0.5', containerStatuses: [{ ready: true, restartCount: 2 }, { ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } };
    const t = toTable('Pod', [pod], {});
    expect(t.rows[0].cells.slice(0, 4)).toEqual(['p', '1/2', 'CrashLoopBackOff', 3]);
    expect(t.rows[0].cells.slice(5, 7)).toEqual(['10.0.0.5', 'n1']);
    const svc = { metadata: { name: 's' }, spec: { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } };
    expect(toTable('Service', [svc], {}).rows[0].cells.slice(0, 5)).toEqual(['s', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP']);
  });
});

describe('service CIDR', () => {
  it('picks the first address', () => {
    expect(firstServiceIP('10.96.0.0/12')).toBe('10.96.0.1');
    expect(firstServiceIP('10.100.7.9/16')).toBe('10.100.0.1');
    expect(() => firstServiceIP('fd00::/108')).toThrow(/IPv4/);
  });
});
