// Where a field of a YAML file is: the lines of its fields, named as the validators name them (network.dns[0],
// nodes[1].role), so a problem can say FILE:LINE. Shared by the cluster file and the lab's fault plan.
import { isMap, isNode, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** "… at line 3, column 1:" from the YAML parser becomes "at line 3, column 1: …", first line only. */
export function yamlErrorText(e: { message: string; linePos?: Array<{ line: number; col: number }> }): { message: string; line?: number } {
  const first = e.message.split('\n')[0]!.replace(/\s+at line \d+, column \d+:?\s*$/, '');
  const pos = e.linePos?.[0];
  return { message: pos ? `is not valid YAML at line ${pos.line}, column ${pos.col}: ${first}` : `is not valid YAML: ${first}`, line: pos?.line };
}

/** Every field of the document with its line, named as validateCluster names them (network.dns[0], nodes[1].role). */
export function fieldLines(doc: Document, counter: LineCounter): Record<string, number> {
  const lines: Record<string, number> = {};
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : counter.linePos(offset).line);
  const walk = (node: unknown, field: string) => {
    if (!isNode(node)) return;
    const line = lineAt((node as Node).range?.[0]);
    // A key's own line wins over its value's (a map under `network:` starts on the next line).
    if (field && line !== undefined) lines[field] ??= line;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isNode(pair.key) ? String((pair.key as { value?: unknown }).value ?? '') : String(pair.key);
        const name = field ? `${field}.${key}` : key;
        // A key with no value (`gateway:`) still has a line: the key's.
        const keyLine = lineAt((pair.key as Node | undefined)?.range?.[0]);
        if (keyLine !== undefined) lines[name] = keyLine;
        walk(pair.value, name);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, `${field}[${i}]`));
  };
  walk(doc.contents, '');
  return lines;
}

/** The line of a problem's field: its own, else the nearest parent's (a missing field is reported at its map). */
export function lineOfField(field: string, lines: Record<string, number>): number | undefined {
  for (let f = field; f; ) {
    if (lines[f] !== undefined) return lines[f];
    const parent = f.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
    if (parent === f) break;
    f = parent;
  }
  return undefined;
}
