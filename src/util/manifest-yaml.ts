import { stringify } from 'yaml';
import type { KubeObject } from '../ports/cluster.ts';

/** Multi-document YAML, as `plan` shows it and `kubectl apply --server-side -f` would take it. */
export function toYaml(objects: KubeObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
