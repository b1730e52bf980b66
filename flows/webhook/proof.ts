// The proof of the webhook stage: Jobs sent through the API server's admission (dry run: admitted, mutated and
// validated like a real create, but never stored, so no pod runs and nothing is left behind).
import { IMAGES } from '../../src/catalog/images.ts';
import type { ClusterPort, KubeObject } from '../../src/ports/cluster.ts';
import { EXCLUDED_NAMESPACES } from './policy.ts';
import { textTable } from '../../src/util/table.ts';

export interface ProofRow {
  check: string;
  expected: string;
  actual: string;
  ok: boolean;
}

function proofJob(namespace: string, ttl: number | undefined): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'boardkube-webhook-proof', namespace },
    spec: {
      ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }),
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'finish', image: IMAGES.proofJob, command: ['true'] }] } },
    },
  };
}

const ttlOf = (o: KubeObject): number | undefined => (o.spec as { ttlSecondsAfterFinished?: number } | undefined)?.ttlSecondsAfterFinished;
const show = (v: number | undefined) => (v === undefined ? 'no TTL' : `${v} s`);

/** A TTL of the user's own that differs from the default. */
export function ownTtl(defaultTtl: number): number {
  return defaultTtl === 120 ? 121 : 120;
}

/** The three Jobs of the proof and what admission did to each. */
export async function admissionRows(c: ClusterPort, defaultTtl: number, signal?: AbortSignal): Promise<ProofRow[]> {
  const own = ownTtl(defaultTtl);
  const cases: Array<{ check: string; ns: string; ttl: number | undefined; want: number | undefined }> = [
    { check: 'a Job without a TTL gets the default', ns: 'default', ttl: undefined, want: defaultTtl },
    { check: 'a Job with its own TTL keeps it', ns: 'default', ttl: own, want: own },
    { check: `a Job in ${EXCLUDED_NAMESPACES[0]} is not touched`, ns: EXCLUDED_NAMESPACES[0]!, ttl: undefined, want: undefined },
  ];
  const rows: ProofRow[] = [];
  for (const k of cases) {
    const got = ttlOf(await c.create(proofJob(k.ns, k.ttl), { dryRun: true, signal }));
    rows.push({ check: k.check, expected: show(k.want), actual: show(got), ok: got === k.want });
  }
  return rows;
}

/** A Job created while the defaulting is down: still admitted (failurePolicy Ignore), just without a TTL. */
export async function admittedWithoutDefault(c: ClusterPort, signal?: AbortSignal): Promise<ProofRow> {
  const got = ttlOf(await c.create(proofJob('default', undefined), { dryRun: true, signal }));
  return { check: 'with the webhook down, a Job is still created', expected: 'created, no TTL', actual: `created, ${show(got)}`, ok: got === undefined };
}

export function formatRows(rows: ProofRow[]): string {
  return textTable(['check', 'expected', 'actual', ''], rows.map((r) => [r.check, r.expected, r.actual, r.ok ? 'ok' : 'WRONG'])).join('\n');
}
