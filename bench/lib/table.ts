// A fixed-width text table: the first `left` columns and the last (a note)
// left-aligned, the figures in between right-aligned.
export function textTable(header: string[], rows: string[][], left = 1): string {
  const all = [header, ...rows];
  const width = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const last = header.length - 1;
  const line = (r: string[]) =>
    r.map((c, i) => (i < left || i === last ? (c ?? '').padEnd(width[i]!) : (c ?? '').padStart(width[i]!))).join('  ').trimEnd();
  const head = line(header);
  return [head, '-'.repeat(head.length), ...rows.map(line)].join('\n');
}
