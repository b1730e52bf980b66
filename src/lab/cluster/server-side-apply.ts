// Server-side apply, simplified (no field ownership: apply merges, it never removes fields), and the
// comparison that tells "configured" from "unchanged".
import type { KubeObject } from '../../ports/cluster.ts';
import { clone } from './state.ts';

const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink'];

/** Drops the metadata the server sets (in place); returns the object. */
export function stripServerFields(o: KubeObject): KubeObject {
  for (const f of SERVER_FIELDS) delete o.metadata[f];
  return o;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Apply, simplified: maps merge key by key, everything else (lists too) is replaced by the applied value. */
export function mergeApply(existing: KubeObject, applied: KubeObject): KubeObject {
  const merge = (a: unknown, b: unknown): unknown => {
    if (isPlainObject(a) && isPlainObject(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : clone(v);
      return out;
    }
    return clone(b);
  };
  return merge(clone(existing), applied) as KubeObject;
}

/** Whether the two objects are the same but for the fields the server sets. */
export function sameContent(a: KubeObject, b: KubeObject): boolean {
  return canonical(stripServerFields(clone(a))) === canonical(stripServerFields(clone(b)));
}

/** JSON with sorted keys, for comparing objects. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
