// The lab's Job controllers, run lazily before each API call (the lab has no clock of its own): a Job's pod
// "runs" for a moment and the Job completes; the ttl-after-finished controller deletes a finished Job once
// its ttlSecondsAfterFinished has passed. Timings follow BOARDKUBE_LAB_SPEED like the rest of the lab.
import type { KubeObject } from '../../ports/cluster.ts';
import { labSpeed } from '../world.ts';
import { isoSeconds, type LabState } from './state.ts';

/** How long a lab Job's pod runs, at speed 1. */
const RUN_MS = 3000;

interface JobStatus {
  startTime?: string;
  completionTime?: string;
  succeeded?: number;
  conditions?: Array<{ type: string; status: string; lastTransitionTime: string; reason?: string }>;
}

function finishedAt(job: KubeObject): number | undefined {
  const st = job.status as JobStatus | undefined;
  const c = st?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  return c ? Date.parse(c.lastTransitionTime) : undefined;
}

/** Called when a lab Job's pod finishes successfully; `get` reads an object by its state key. */
export type JobListener = (job: KubeObject, get: (key: string) => KubeObject | undefined) => void;
const jobListeners = new WeakMap<LabState, JobListener[]>();

export function onJobComplete(state: LabState, l: JobListener): void {
  jobListeners.set(state, [...(jobListeners.get(state) ?? []), l]);
}

export function advanceJobs(state: LabState): void {
  const now = state.now();
  const speed = labSpeed();
  for (const [key, job] of [...state.objects]) {
    if (job.apiVersion !== 'batch/v1' || job.kind !== 'Job' || job.metadata.deletionTimestamp) continue;
    const spec = job.spec as { suspend?: boolean; managedBy?: string; ttlSecondsAfterFinished?: number } | undefined;
    const done = finishedAt(job);
    if (done === undefined) {
      // Jobs managed by another controller are left to it, like the real Job controller does.
      if (spec?.suspend || (spec?.managedBy && spec.managedBy !== 'kubernetes.io/job-controller')) continue;
      const created = Date.parse(String(job.metadata.creationTimestamp));
      if (now - created < RUN_MS * speed) continue;
      const at = isoSeconds(now);
      job.status = {
        startTime: String(job.metadata.creationTimestamp),
        completionTime: at,
        succeeded: 1,
        conditions: [
          { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: at, reason: 'CompletionsReached' },
          { type: 'Complete', status: 'True', lastTransitionTime: at, reason: 'CompletionsReached' },
        ],
      } satisfies JobStatus;
      job.metadata.resourceVersion = String(++state.rv);
      // What the Job's pod did lives on after the Job (e.g. a forge's admin in its database).
      for (const l of jobListeners.get(state) ?? []) l(job, (k) => state.objects.get(k));
      continue;
    }
    const ttl = spec?.ttlSecondsAfterFinished;
    if (typeof ttl === 'number' && now - done >= ttl * 1000 * speed) state.objects.delete(key);
  }
}
