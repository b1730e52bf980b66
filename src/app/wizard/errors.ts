// Errors from the engine and the boards end with the fix they name ("... (fix: ...)" or "...\n  fix: ...");
// the screens show the two apart.

/** Splits an engine/host error into what went wrong and the fix it names, if any. */
export function splitFix(error: string): { message: string; fix?: string } {
  const m = /^([\s\S]*?)\n\s*fix: ([\s\S]*)$/.exec(error);
  if (m) return { message: m[1]!.trim(), fix: m[2]!.trim() };
  const p = /^([\s\S]*) \(fix: ([^()]*(?:\([^()]*\)[^()]*)*)\)$/.exec(error);
  if (p) return { message: p[1]!.trim(), fix: p[2]!.trim() };
  return { message: error.trim() };
}
