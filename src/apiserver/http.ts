// HTTP plumbing: bounded body reading, content negotiation, JSON/YAML/Table
// responses and Status errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify } from 'yaml';
import { ApiError, errors, toStatus } from './errors.js';

export const MAX_BODY = 3 * 1024 * 1024;

/** Reads the request body, failing with 413 past MAX_BODY. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > MAX_BODY) {
        failed = true;
        reject(errors.tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => !failed && resolve(Buffer.concat(chunks)));
    req.on('error', (e) => !failed && reject(e));
  });
}

export type OutputFormat = 'json' | 'yaml' | 'table';

/** Picks the response format from Accept (406 when only unsupported types are acceptable). */
export function negotiate(accept: string | undefined): { format: OutputFormat; includeObject?: string } {
  if (!accept || !accept.trim()) return { format: 'json' };
  let fallback: OutputFormat | undefined;
  for (const part of accept.split(',')) {
    const p = part.replace(/\s+/g, '');
    const [type] = p.split(';');
    if (p.includes('as=Table') && p.includes('g=meta.k8s.io') && (type === 'application/json' || type === '*/*')) return { format: 'table' };
    if (p.includes('as=')) continue;
    if (type === 'application/json' || type === '*/*' || type === 'application/*') fallback ??= 'json';
    if (type === 'application/yaml') fallback ??= 'yaml';
  }
  if (!fallback) throw errors.notAcceptable();
  return { format: fallback };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json', warnings: string[] = []): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(text)), 'Cache-Control': 'no-cache, private' };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(status, headers);
  res.end(text);
}

export function sendFormatted(res: ServerResponse, status: number, body: unknown, format: OutputFormat, warnings: string[] = []): void {
  if (format === 'yaml') {
    if (res.headersSent) return;
    const text = stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/yaml', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
    return;
  }
  sendJson(res, status, body, 'application/json', warnings);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, err.status, toStatus(err));
}
