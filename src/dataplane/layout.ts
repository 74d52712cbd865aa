// Struct layouts shared with the BPF objects, declared once per map module
// and checked against the object's BTF at load so a header change that the
// TS side did not follow fails at startup instead of corrupting maps.
import type { BtfStructLayout } from './native.js';

export interface FieldLayout {
  name: string;
  offset: number;
  size: number;
}

export interface StructLayout {
  /** The C struct name in bpf/lib/*.h. */
  name: string;
  size: number;
  fields: FieldLayout[];
}

/** What the native addon reports for a struct found in BTF. */
export type BtfStruct = BtfStructLayout;

export class LayoutMismatchError extends Error {
  readonly code = 'EBF_LAYOUT_MISMATCH';
  constructor(readonly struct: string, readonly problems: string[]) {
    super(`BPF struct ${struct} does not match its TS encoder: ${problems.join('; ')}`);
  }
}

/** Lists every difference between the TS layout and the BTF one. */
export function compareLayout(expected: StructLayout, actual: BtfStruct | null): string[] {
  if (!actual) return [`struct ${expected.name} not found in BTF`];
  const problems: string[] = [];
  if (actual.size !== expected.size) problems.push(`size ${actual.size} != ${expected.size}`);
  const byName = new Map(actual.members.map((m) => [m.name, m]));
  for (const f of expected.fields) {
    const m = byName.get(f.name);
    if (!m) problems.push(`field ${f.name} missing`);
    else if (m.offset !== f.offset || m.size !== f.size) {
      problems.push(`field ${f.name} at ${m.offset}/${m.size}, expected ${f.offset}/${f.size}`);
    }
  }
  return problems;
}

/** Throws LayoutMismatchError when the layouts differ. */
export function assertLayout(expected: StructLayout, actual: BtfStruct | null): void {
  const problems = compareLayout(expected, actual);
  if (problems.length) throw new LayoutMismatchError(expected.name, problems);
}

/** Builds a layout from [name, size] pairs laid out back to back. */
export function packed(name: string, fields: [string, number][], size?: number): StructLayout {
  let offset = 0;
  const out: FieldLayout[] = [];
  for (const [fname, fsize] of fields) {
    out.push({ name: fname, offset, size: fsize });
    offset += fsize;
  }
  return { name, size: size ?? offset, fields: out };
}
