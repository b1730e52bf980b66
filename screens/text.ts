// Word wrapping with an exact line count, so the stage screen can share its rows between parts.
export function wrapLines(text: string, width: number, max = Infinity): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      let w = word;
      while (w.length > width) {
        if (line) {
          out.push(line);
          line = '';
        }
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
      if (!line) line = w;
      else if (line.length + 1 + w.length <= width) line += ` ${w}`;
      else {
        out.push(line);
        line = w;
      }
    }
    if (line || para === '') out.push(line);
  }
  if (out.length > max) {
    const cut = out.slice(0, max);
    const last = cut[max - 1]!;
    cut[max - 1] = last.length >= width ? `${last.slice(0, width - 1)}…` : `${last}…`;
    return cut;
  }
  return out;
}

/** Strips a prefix every name shares ("n2-master", "n2-worker1" → "master", "worker1") for narrow columns. */
export function shortNames(names: string[]): string[] {
  if (names.length < 2) return names;
  let prefix = names[0]!;
  for (const n of names) while (prefix && !n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('-') + 1;
  if (cut <= 0) return names;
  return names.map((n) => n.slice(cut) || n);
}

export function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** One line wrapped at `width`, at a space where there is one, keeping runs of spaces (a table stays aligned). */
export function wrapLine(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(' ', width);
    if (cut <= width / 2) cut = width;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^ +/, '');
  }
  out.push(rest);
  return out;
}
