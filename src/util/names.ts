// Unknown names (options, fields, boards, faults) are errors that say what is known and what was probably meant.

/** Edit distance (Levenshtein), small strings only. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name closest to `name`, when it is close enough to be a typo (or a prefix of it). */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (!best || d < best.d) best = { name: k, d };
  }
  if (!best) return undefined;
  const limit = Math.max(2, Math.floor(name.length / 3));
  if (best.d <= limit) return best.name;
  const prefix = known.find((k) => k.toLowerCase().startsWith(lower) && lower.length >= 3);
  return prefix;
}

/** "did you mean scope? known: account, namespace, scope" for the fix part of a message. */
export function knownNames(name: string, known: readonly string[], what = 'known'): string {
  const guess = closest(name, known);
  const list = known.length ? `${what}: ${known.join(', ')}` : `there are none`;
  return guess ? `did you mean ${guess}? ${list}` : list;
}
