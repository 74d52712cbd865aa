// Decoder for Kubernetes protobuf request bodies (the "k8s\0" envelope that
// typed Go clients such as `kubectl create namespace` send), turning them into
// the JSON shape the rest of the server handles. Field tables: proto-messages.ts.
import { MESSAGES } from './proto-messages.js';
import { errors } from './errors.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

interface Field {
  name: string;
  /** '' single, '*' repeated, '%' map, '^' embedded struct whose fields are inlined in JSON. */
  mode: '' | '*' | '%' | '^';
  type: string;
}

const cache = new Map<string, Map<number, Field>>();

function table(name: string): Map<number, Field> {
  let t = cache.get(name);
  if (t) return t;
  const spec = MESSAGES[name];
  if (spec === undefined) throw errors.badRequest(`protobuf: no message ${name}`);
  t = new Map();
  for (const part of spec.split(' ').filter(Boolean)) {
    const [num, fname, rawType] = part.split(':');
    const mode = rawType[0] === '*' || rawType[0] === '%' || rawType[0] === '^' ? (rawType[0] as '*' | '%' | '^') : '';
    t.set(Number(num), { name: fname, mode, type: mode ? rawType.slice(1) : rawType });
  }
  cache.set(name, t);
  return t;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw errors.badRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw errors.badRequest('protobuf: varint too long');
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw errors.badRequest('protobuf: truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw errors.badRequest(`protobuf: unsupported wire type ${wire}`);
    if (this.pos > this.end) throw errors.badRequest('protobuf: truncated field');
  }
}

function signed(v: bigint): number {
  return Number(v >= 1n << 63n ? v - (1n << 64n) : v);
}

function formatTime(seconds: number, nanos: number, micro: boolean): string {
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, '');
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** Decodes a scalar or special value at the reader for a wire type. */
function readValue(r: Reader, wire: number, type: string): unknown {
  switch (type) {
    case 's':
      return r.bytes().toString('utf8');
    case 'y':
      return r.bytes().toString('base64');
    case 'i':
      return signed(r.varint());
    case 'b':
      return r.varint() !== 0n;
    case 'd': {
      if (wire === 1) {
        const v = r.buf.readDoubleLE(r.pos);
        r.pos += 8;
        return v;
      }
      const v = r.buf.readFloatLE(r.pos);
      r.pos += 4;
      return v;
    }
  }
  const body = r.bytes();
  const sub = new Reader(body);
  if (type === 'T' || type === 'U') {
    let seconds = 0;
    let nanos = 0;
    while (sub.pos < sub.end) {
      const tag = Number(sub.varint());
      if (tag >> 3 === 1) seconds = signed(sub.varint());
      else if (tag >> 3 === 2) nanos = signed(sub.varint());
      else sub.skip(tag & 7);
    }
    return seconds === 0 && nanos === 0 ? undefined : formatTime(seconds, nanos, type === 'U');
  }
  if (type === 'I') {
    let kind = 0;
    let iv = 0;
    let sv = '';
    while (sub.pos < sub.end) {
      const tag = Number(sub.varint());
      const f = tag >> 3;
      if (f === 1) kind = signed(sub.varint());
      else if (f === 2) iv = signed(sub.varint());
      else if (f === 3) sv = sub.bytes().toString('utf8');
      else sub.skip(tag & 7);
    }
    if (kind === 1) return sv;
    return iv === 0 ? undefined : iv;
  }
  if (type === 'Q' || type === 'R' || type === 'F' || type === 'D') {
    let raw: Buffer | undefined;
    let n = 0;
    while (sub.pos < sub.end) {
      const tag = Number(sub.varint());
      if (tag >> 3 === 1 && (tag & 7) === 2) raw = sub.bytes();
      else if (tag >> 3 === 1 && (tag & 7) === 0) n = signed(sub.varint());
      else sub.skip(tag & 7);
    }
    if (type === 'Q') return raw?.toString('utf8');
    if (type === 'D') return `${n / 1e9}s`;
    if (!raw || !raw.length) return undefined;
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw errors.badRequest('protobuf: embedded JSON is invalid');
    }
  }
  return decodeMessage(body, type);
}

/** Decodes one message into a JSON object, dropping empty strings and zero times. */
export function decodeMessage(buf: Buffer, name: string): Record<string, unknown> {
  const fields = table(name);
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (r.pos < r.end) {
    const tag = Number(r.varint());
    const num = tag >> 3;
    const wire = tag & 7;
    const f = fields.get(num);
    if (!f) {
      r.skip(wire);
      continue;
    }
    if (f.mode === '%') {
      const entry = new Reader(r.bytes());
      let key = '';
      let value: unknown;
      while (entry.pos < entry.end) {
        const t = Number(entry.varint());
        if (t >> 3 === 1) key = entry.bytes().toString('utf8');
        else if (t >> 3 === 2) value = readValue(entry, t & 7, f.type);
        else entry.skip(t & 7);
      }
      const m = (out[f.name] ??= {}) as Record<string, unknown>;
      m[key] = value ?? (f.type === 's' ? '' : value);
      continue;
    }
    if (f.mode === '*') {
      const list = (out[f.name] ??= []) as unknown[];
      if (wire === 2 && (f.type === 'i' || f.type === 'b')) {
        const packed = new Reader(r.bytes());
        while (packed.pos < packed.end) list.push(readValue(packed, 0, f.type));
      } else {
        const v = readValue(r, wire, f.type);
        list.push(v ?? (f.type === 's' ? '' : {}));
      }
      continue;
    }
    const v = readValue(r, wire, f.type);
    if (f.mode === '^') {
      if (v && typeof v === 'object') Object.assign(out, v);
    } else if (v === undefined || v === '') delete out[f.name];
    else out[f.name] = v;
  }
  return out;
}

/** Message name for an apiVersion/kind, e.g. apps/v1 Deployment -> apps.v1.Deployment. */
export function messageName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  if (group === 'meta.k8s.io' || (kind === 'DeleteOptions' && group === 'core')) return `meta.${kind}`;
  return `${group.split('.')[0]}.${version}.${kind}`;
}

/** Decodes a "k8s\0"-prefixed runtime.Unknown envelope into a JSON object. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\u0000') throw errors.badRequest('protobuf: missing k8s envelope');
  const r = new Reader(body.subarray(4));
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  while (r.pos < r.end) {
    const tag = Number(r.varint());
    const num = tag >> 3;
    if (num === 1) {
      const tm = new Reader(r.bytes());
      while (tm.pos < tm.end) {
        const t = Number(tm.varint());
        if (t >> 3 === 1) apiVersion = tm.bytes().toString('utf8');
        else if (t >> 3 === 2) kind = tm.bytes().toString('utf8');
        else tm.skip(t & 7);
      }
    } else if (num === 2) raw = r.bytes();
    else r.skip(tag & 7);
  }
  if (!kind || !apiVersion) throw errors.badRequest('protobuf: envelope lacks apiVersion/kind');
  const obj = decodeMessage(raw ?? Buffer.alloc(0), messageName(apiVersion, kind));
  return { apiVersion, kind, ...obj };
}
