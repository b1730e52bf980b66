// Step prove: a Job with ttlSecondsAfterFinished runs, finishes, and the cluster's ttl-after-finished
// controller deletes it within its TTL plus a margin. The times are shown; no gate is involved since 1.23.
import { randomBytes } from 'node:crypto';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { ClusterError, type ClusterPort, type KubeObject } from '../../src/ports/cluster.ts';
import { sleep } from '../../src/util/sleep.ts';
import { jobEnd, PROOF_LABEL, PROOF_LABEL_VALUE, PROOF_NAMESPACE, proofJob, proofJobName } from './proof-job.ts';
import { ttlOptions } from './options.ts';

/** How much later than its TTL the Job may disappear: the controller's queue and our polling. */
export const DELETE_MARGIN_SECONDS = 30;
const POLL_MS = 500;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function waitUntil<T>(ctx: StepContext, timeoutMs: number, look: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await look();
    if (got !== undefined) return got;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())), ctx.signal);
  }
}

export interface TtlProofTimes {
  job: string;
  createdAt: string;
  finishedAt: string;
  goneAt: string;
  finished: 'Complete' | 'Failed';
  /** From finished (seen) to gone (seen), seconds. */
  deletedAfterSeconds: number;
  ttlSeconds: number;
}

/** Creates the proof Job and watches it finish and disappear; throws with what was seen when it does not. */
export async function runTtlProof(ctx: StepContext, c: ClusterPort, ttlSeconds: number, finishTimeoutSeconds: number): Promise<TtlProofTimes> {
  const name = proofJobName(randomBytes(3).toString('hex'));
  const created = Date.now();
  await c.create(proofJob(name, ttlSeconds), { signal: ctx.signal });
  ctx.log(`created Job ${PROOF_NAMESPACE}/${name} (ttlSecondsAfterFinished: ${ttlSeconds})`);
  const end = await waitUntil(ctx, finishTimeoutSeconds * 1000, async () => {
    const job = await c.get('batch/v1', 'Job', name, PROOF_NAMESPACE);
    if (!job) throw new Error(`Job ${PROOF_NAMESPACE}/${name} disappeared before it finished (someone deleted it?)`);
    const e = jobEnd(job);
    return e.finished ? e : undefined;
  });
  if (!end?.finished) {
    throw new ClusterError(
      'timeout',
      `Job ${PROOF_NAMESPACE}/${name} did not finish within ${finishTimeoutSeconds} s: its pod did not run`,
      `look at it: kubectl -n ${PROOF_NAMESPACE} describe job ${name}; kubectl -n ${PROOF_NAMESPACE} get pods -l job-name=${name} (a worker must be Ready and able to pull images; more time: --set finish-timeout=600)`,
    );
  }
  const finished = Date.now();
  ctx.log(`Job ${name} finished (${end.how}${end.reason ? `, ${end.reason}` : ''}) after ${seconds(finished - created)}${end.how === 'Failed' ? ': the TTL applies to failed Jobs too' : ''}`);
  ctx.progress({ message: `waiting for the ttl-after-finished controller (TTL ${ttlSeconds} s)` });
  const limitMs = (ttlSeconds + DELETE_MARGIN_SECONDS) * 1000;
  const gone = await waitUntil(ctx, limitMs, async () => ((await c.get('batch/v1', 'Job', name, PROOF_NAMESPACE)) ? undefined : Date.now()));
  if (gone === undefined) {
    throw new Error(
      `Job ${PROOF_NAMESPACE}/${name} still exists ${ttlSeconds + DELETE_MARGIN_SECONDS} s after it finished (TTL ${ttlSeconds} s): the ttl-after-finished controller is not running. Check kube-controller-manager (its --controllers must include ttl-after-finished, and no removed gate such as TTLAfterFinished may be passed: kubectl -n kube-system logs kube-controller-manager-MASTER)`,
    );
  }
  const after = (gone - finished) / 1000;
  ctx.log(`Job ${name} was deleted ${after.toFixed(1)} s after it finished (TTL ${ttlSeconds} s, allowed up to ${ttlSeconds + DELETE_MARGIN_SECONDS} s)`);
  return {
    job: name,
    createdAt: new Date(created).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    goneAt: new Date(gone).toISOString(),
    finished: end.how,
    deletedAfterSeconds: Math.round(after * 10) / 10,
    ttlSeconds,
  };
}

export const proveStep: Step = {
  id: 'prove',
  title: 'Prove it: a finished Job disappears',
  explain:
    "Since 1.23 every cluster cleans up finished Jobs that carry spec.ttlSecondsAfterFinished: kube-controller-manager's ttl-after-finished controller deletes them (and their pods) that many seconds after they finished. A small Job runs `echo finished`, and boardkube watches the controller delete it.",
  plan(ctx) {
    const o = ttlOptions(ctx);
    return [
      {
        type: 'manifest',
        description: `create Job ${PROOF_NAMESPACE}/${proofJobName('XXXXXX')} (ttlSecondsAfterFinished: ${o.proofTtlSeconds}), wait until it finished (at most ${o.finishTimeoutSeconds} s), then until the ttl-after-finished controller deleted it (at most ${o.proofTtlSeconds + DELETE_MARGIN_SECONDS} s)`,
        content: JSON.stringify(proofJob(proofJobName('XXXXXX'), o.proofTtlSeconds), null, 2),
      },
    ];
  },
  async run(ctx) {
    const o = ttlOptions(ctx);
    const times = await runTtlProof(ctx, await ctx.ports.cluster(), o.proofTtlSeconds, o.finishTimeoutSeconds);
    return { ...times };
  },
  async verify(ctx) {
    // Every proof Job ever made is gone: the controller still cleans up (a stuck one means it stopped).
    const c = await ctx.ports.cluster();
    const left = await c.list('batch/v1', 'Job', PROOF_NAMESPACE, { labelSelector: `${PROOF_LABEL}=${PROOF_LABEL_VALUE}` });
    return left.every((j) => !jobEnd(j).finished || !isOverdue(j));
  },
};

/** A finished proof Job still there well after its TTL. */
function isOverdue(job: KubeObject): boolean {
  const ttl = (job.spec as { ttlSecondsAfterFinished?: number } | undefined)?.ttlSecondsAfterFinished ?? 0;
  const end = jobEnd(job);
  const at = end.finished && end.at ? Date.parse(end.at) : NaN;
  return Number.isFinite(at) && Date.now() - at > (ttl + DELETE_MARGIN_SECONDS) * 1000;
}
