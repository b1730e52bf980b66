// A plain-text table (CLI output, logs, error messages, stage reports): columns padded to their widest cell.

/** The header and rows as lines, columns two spaces apart, no trailing spaces. */
export function textTable(head: string[], body: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)];
}
