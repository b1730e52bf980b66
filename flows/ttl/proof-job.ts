// The proof Job of the ttl stage: a pod that exits at once, with ttlSecondsAfterFinished, so the real
// ttl-after-finished controller deletes it a few seconds after it finished.
import { IMAGES } from '../../src/catalog/images.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';

export const PROOF_NAMESPACE = 'default';
export const PROOF_LABEL = 'boardkube.dev/proof';
export const PROOF_LABEL_VALUE = 'ttl-after-finished';

export function proofJobName(suffix: string): string {
  return `boardkube-ttl-proof-${suffix}`;
}

export function proofJob(name: string, ttlSeconds: number): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: PROOF_NAMESPACE, labels: { [PROOF_LABEL]: PROOF_LABEL_VALUE, 'app.kubernetes.io/managed-by': 'boardkube' } },
    spec: {
      ttlSecondsAfterFinished: ttlSeconds,
      backoffLimit: 0,
      // A pod that cannot start (no image pull) must not hold the proof forever.
      activeDeadlineSeconds: 600,
      template: {
        metadata: { labels: { [PROOF_LABEL]: PROOF_LABEL_VALUE } },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'finish', image: IMAGES.proofJob, command: ['sh', '-c', 'echo finished'] }],
        },
      },
    },
  };
}

export type JobEnd = { finished: false } | { finished: true; how: 'Complete' | 'Failed'; at: string | undefined; reason?: string };

/** Has the Job finished (condition Complete or Failed True)? The TTL counts from that moment. */
export function jobEnd(job: KubeObject): JobEnd {
  const conditions = ((job.status as { conditions?: Array<{ type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }> } | undefined)?.conditions) ?? [];
  for (const c of conditions) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') {
      return { finished: true, how: c.type, at: c.lastTransitionTime, reason: c.reason ? `${c.reason}${c.message ? `: ${c.message}` : ''}` : undefined };
    }
  }
  return { finished: false };
}
