// Step deploy-server (mode webhook): the server's source in a ConfigMap, a Deployment of the stock node image
// running it, and its Service; waits until the pod answers its readiness probe.
import type { Step, StepContext } from '../../src/engine/types.ts';
import { ClusterError, describeObject, type ClusterPort, type KubeObject } from '../../src/ports/cluster.ts';
import { toYaml } from '../../src/util/manifest-yaml.ts';
import { sleep } from '../../src/util/sleep.ts';
import { optionsToVerify } from './verify-options.ts';
import { webhookOptions } from './options.ts';
import { SERVER_NAME, serverManifests, WEBHOOK_NAMESPACE } from './server-manifests.ts';
import { serverScript } from './server-script.ts';

const READY_TIMEOUT_MS = 180_000;

export function isReady(d: KubeObject | null): boolean {
  const st = (d?.status ?? {}) as { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
  const gen = d?.metadata.generation as number | undefined;
  return (st.readyReplicas ?? 0) >= 1 && (gen === undefined || (st.observedGeneration ?? 0) >= gen);
}

/** What the pods of the server say (waiting reasons such as CrashLoopBackOff), for error messages. */
export async function podTrouble(c: ClusterPort): Promise<string> {
  const pods = await c.list('v1', 'Pod', WEBHOOK_NAMESPACE, { labelSelector: `app.kubernetes.io/name=${SERVER_NAME}` }).catch(() => []);
  const why = pods.flatMap((p) => {
    const cs = ((p.status as { containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } }; restartCount?: number }> } | undefined)?.containerStatuses) ?? [];
    return cs.map((s) => `${p.metadata.name}: ${s.state?.waiting?.reason ?? 'not ready'}${s.restartCount ? `, ${s.restartCount} restarts` : ''}`);
  });
  const d = await c.get('apps/v1', 'Deployment', SERVER_NAME, WEBHOOK_NAMESPACE).catch(() => null);
  const cond = ((d?.status as { conditions?: Array<{ type: string; status: string; message?: string }> } | undefined)?.conditions ?? []).filter((x) => x.status !== 'True').map((x) => `${x.type}: ${x.message ?? x.status}`);
  return [...why, ...cond].join('; ') || 'no pod yet';
}

/** Waits until the server's pod is ready; a crash-looping pod fails at once (it does not heal by waiting). */
export async function waitReady(ctx: StepContext, c: ClusterPort): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (isReady(await c.get('apps/v1', 'Deployment', SERVER_NAME, WEBHOOK_NAMESPACE))) return;
    const trouble = await podTrouble(c);
    const crashing = /CrashLoopBackOff/.test(trouble);
    if (crashing || Date.now() > deadline) {
      throw new ClusterError(
        crashing ? 'server' : 'timeout',
        `the webhook server is ${crashing ? 'crash-looping' : `not ready after ${READY_TIMEOUT_MS / 1000} s`} (${trouble}); Jobs are still created meanwhile, without the default TTL (failurePolicy Ignore)`,
        `look at it: kubectl -n ${WEBHOOK_NAMESPACE} describe pods -l app.kubernetes.io/name=${SERVER_NAME}; kubectl -n ${WEBHOOK_NAMESPACE} logs deploy/${SERVER_NAME}; then run the stage again`,
      );
    }
    await sleep(1000, ctx.signal);
  }
}

export const deployServerStep: Step = {
  id: 'deploy-server',
  title: 'Run the webhook server',
  explain:
    "The seed's webhook was a Python server in its own image. Here it is a small Node script of boardkube's (no dependencies, node:https only) in a ConfigMap, run by the stock multi-arch node image, so nothing has to be built for the boards' arm64. It listens on 8443 with the serving certificate and answers the API server's AdmissionReview with a JSON Patch.",
  skip(ctx) {
    return webhookOptions(ctx).mode === 'webhook' ? undefined : 'mode policy: no server';
  },
  plan(ctx) {
    const objects = serverManifests(serverScript(), webhookOptions(ctx).ttlSeconds);
    return [{ type: 'manifest', description: `apply (server-side) ${objects.map((m) => describeObject(m)).join(', ')}; wait until the pod is ready`, content: toYaml(objects) }];
  },
  async run(ctx) {
    const c = await ctx.ports.cluster();
    for (const r of await c.apply(serverManifests(serverScript(), webhookOptions(ctx).ttlSeconds), { signal: ctx.signal })) ctx.log(`${describeObject(r.object)} ${r.outcome}`);
    ctx.progress({ message: 'waiting for the webhook pod to be ready' });
    await waitReady(ctx, c);
    ctx.log(`the webhook server ${WEBHOOK_NAMESPACE}/${SERVER_NAME} is ready`);
  },
  async verify(ctx) {
    if ((await optionsToVerify(ctx)).mode !== 'webhook') return false;
    return isReady(await (await ctx.ports.cluster()).get('apps/v1', 'Deployment', SERVER_NAME, WEBHOOK_NAMESPACE));
  },
};
