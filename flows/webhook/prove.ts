// Step prove: Jobs go through the API server's admission (dry run) and come out as they should: without a TTL
// they get the default, with their own TTL they keep it, in kube-system they are left alone.
import type { Json, Step, StepContext } from '../../src/engine/types.ts';
import { sleep } from '../../src/util/sleep.ts';
import { webhookOptions } from './options.ts';
import { admissionRows, formatRows, ownTtl, type ProofRow } from './proof.ts';

/** A new policy or webhook configuration reaches the API server's admission a moment after it is stored. */
const SETTLE_MS = 30_000;

async function settledRows(ctx: StepContext, ttl: number): Promise<ProofRow[]> {
  const c = await ctx.ports.cluster();
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const rows = await admissionRows(c, ttl, ctx.signal);
    if (rows.every((r) => r.ok) || Date.now() > deadline) return rows;
    await sleep(500, ctx.signal);
  }
}

export const proveStep: Step = {
  id: 'prove',
  title: 'Prove it: Jobs get the default TTL',
  explain:
    'Three Jobs are sent to the API server as a dry run (admitted and mutated like a real create, never stored, so nothing runs and nothing is left behind): one without a TTL must come back with the default, one with its own TTL must keep it, one in kube-system must stay without.',
  plan(ctx) {
    const o = webhookOptions(ctx.options);
    return [
      {
        type: 'api',
        description: `dry-run create 3 Jobs: default/ without TTL (expect ${o.ttlSeconds} s), default/ with ttlSecondsAfterFinished ${ownTtl(o.ttlSeconds)} (expect it kept), kube-system/ without TTL (expect none)`,
      },
    ];
  },
  async run(ctx) {
    const o = webhookOptions(ctx.options);
    const rows = await settledRows(ctx, o.ttlSeconds);
    for (const line of formatRows(rows).split('\n')) ctx.log(line);
    const wrong = rows.filter((r) => !r.ok);
    if (wrong.length) throw new Error(`Jobs do not get their default TTL as they should:\n${formatRows(wrong)}`);
    return { rows: rows as unknown as Json, mode: o.mode };
  },
  async verify(ctx) {
    const o = webhookOptions(ctx.options);
    return (await admissionRows(await ctx.ports.cluster(), o.ttlSeconds, ctx.signal)).every((r) => r.ok);
  },
};
