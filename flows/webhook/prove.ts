// Step prove: Jobs go through the API server's admission (dry run) and come out as they should: without a TTL
// they get the default, with their own TTL they keep it, in kube-system they are left alone.
import type { Json, Step, StepContext } from '../../src/engine/types.ts';
import type { ClusterPort } from '../../src/ports/cluster.ts';
import { sleep } from '../../src/util/sleep.ts';
import { isReady, podTrouble, waitReady } from './deploy-server.ts';
import { optionsToVerify } from './verify-options.ts';
import { webhookOptions, type WebhookOptions } from './options.ts';
import { admissionRows, admittedWithoutDefault, formatRows, ownTtl, type ProofRow } from './proof.ts';
import { SERVER_NAME, serverManifests, WEBHOOK_NAMESPACE } from './server-manifests.ts';
import { serverScript } from './server-script.ts';

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

function serverDeployment(o: WebhookOptions, replicas: number) {
  const d = serverManifests(serverScript(), o.ttlSeconds).find((m) => m.kind === 'Deployment')!;
  return { ...d, spec: { ...(d.spec as Record<string, unknown>), replicas } };
}

/** Stops the webhook's pod, creates a Job (dry run) while it is down, and starts it again. */
async function downRow(ctx: StepContext, c: ClusterPort, o: WebhookOptions): Promise<ProofRow> {
  await c.apply([serverDeployment(o, 0)], { signal: ctx.signal });
  try {
    await c.waitFor('apps/v1', 'Deployment', SERVER_NAME, WEBHOOK_NAMESPACE, (d) => !((d.status as { replicas?: number } | undefined)?.replicas ?? 0), { timeoutMs: 120_000, signal: ctx.signal });
    ctx.log('webhook pod stopped: the webhook is down now');
    return await admittedWithoutDefault(c, ctx.signal);
  } finally {
    await c.apply([serverDeployment(o, 1)], { signal: ctx.signal });
    await waitReady(ctx, c);
    ctx.log('webhook pod started again');
  }
}

/** Mode webhook: a down server is said so (Jobs are then created without the default). */
async function serverDown(c: ClusterPort): Promise<string | undefined> {
  if (isReady(await c.get('apps/v1', 'Deployment', SERVER_NAME, WEBHOOK_NAMESPACE))) return undefined;
  return `the webhook server ${WEBHOOK_NAMESPACE}/${SERVER_NAME} is down (${await podTrouble(c)}): Jobs are created without the default TTL until it is back`;
}

export const proveStep: Step = {
  id: 'prove',
  title: 'Prove it: Jobs get the default TTL',
  explain:
    'Three Jobs are sent to the API server as a dry run (admitted and mutated like a real create, never stored, so nothing runs and nothing is left behind): one without a TTL must come back with the default, one with its own TTL must keep it, one in kube-system must stay without. In mode webhook the server is then stopped for a moment: a Job must still be created (without the default), because a defaulting webhook must never block the cluster.',
  plan(ctx) {
    const o = webhookOptions(ctx);
    return [
      {
        type: 'api',
        description: `dry-run create 3 Jobs: default/ without TTL (expect ${o.ttlSeconds} s), default/ with ttlSecondsAfterFinished ${ownTtl(o.ttlSeconds)} (expect it kept), kube-system/ without TTL (expect none)`,
      },
      ...(o.mode === 'webhook'
        ? [{ type: 'api' as const, description: `scale Deployment ${WEBHOOK_NAMESPACE}/${SERVER_NAME} to 0, dry-run create a Job (expect it created without a TTL: failurePolicy Ignore), scale back to 1 and wait until ready` }]
        : []),
    ];
  },
  async run(ctx) {
    const o = webhookOptions(ctx);
    const c = await ctx.ports.cluster();
    const down = o.mode === 'webhook' ? await serverDown(c) : undefined;
    if (down) throw new Error(down);
    const rows = await settledRows(ctx, o.ttlSeconds);
    if (o.mode === 'webhook' && rows.every((r) => r.ok)) rows.push(await downRow(ctx, c, o));
    for (const line of formatRows(rows).split('\n')) ctx.log(line);
    const wrong = rows.filter((r) => !r.ok);
    if (wrong.length) throw new Error(`Jobs do not get their default TTL as they should:\n${formatRows(wrong)}`);
    return { rows: rows as unknown as Json, mode: o.mode };
  },
  async verify(ctx) {
    const o = await optionsToVerify(ctx);
    const c = await ctx.ports.cluster();
    const down = o.mode === 'webhook' ? await serverDown(c) : undefined;
    if (down) throw new Error(down);
    return (await admissionRows(c, o.ttlSeconds, ctx.signal)).every((r) => r.ok);
  },
};
