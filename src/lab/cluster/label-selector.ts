// Label selectors for `list`.
import type { KubeObject } from '../../ports/cluster.ts';

/** Equality-based label selectors: "a=b,c!=d,e" (exists), "!f" (absent). */
export function parseSelector(sel: string | undefined): (o: KubeObject) => boolean {
  if (!sel) return () => true;
  const terms = sel.split(',').map((t) => t.trim()).filter(Boolean);
  return (o) => {
    const labels = (o.metadata.labels as Record<string, string> | undefined) ?? {};
    return terms.every((t) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(t);
      if (ne) return labels[ne[1]!.trim()] !== ne[2]!.trim();
      const eq = /^([^!=]+)==?(.*)$/.exec(t);
      if (eq) return labels[eq[1]!.trim()] === eq[2]!.trim();
      if (t.startsWith('!')) return !(t.slice(1) in labels);
      return t in labels;
    });
  };
}
