// Step forge: Forgejo in the cluster (sqlite, its data in a folder on the chosen node's disk, a NodePort of the
// master's address), then its admin made inside the forge's own image by a Job (forge.ts's adminScript, the
// password from a Secret), then a login through the forge's API. Skipped with an existing forge.
import type { Step, StepContext } from '../../src/engine/types.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';
import { ClusterError } from '../../src/ports/cluster.ts';
import { toYaml } from '../registry/manifests.ts';
import { adminPassword, ciNamespace, ciPortOf, forgeLoginOf, optionsOf, setupOf, waitReady } from './common.ts';
import { adminScript } from './forge.ts';
import { ADMIN_JOB, ADMIN_SECRET, adminJob, forgejoManifests, secretObjects } from './manifests.ts';

// A board pulls the forge's image (about 100 MB) and starts it: minutes on a card.
const READY_MS = 10 * 60_000;
const ADMIN_MS = 5 * 60_000;

/** The admin Secret only (secretObjects' other one is the CI's, applied by its own step). */
function adminSecret(ctx: StepContext): KubeObject {
  return secretObjects(setupOf(ctx), { adminPassword: adminPassword(ctx), agentSecret: '', oauthClient: '', oauthSecret: '' }).find((o) => o.metadata.name === ADMIN_SECRET)!;
}

async function loginWorks(ctx: StepContext): Promise<boolean> {
  const me = await (await ciPortOf(ctx)).forgeLogin(forgeLoginOf(ctx), ctx.signal);
  return me.admin;
}

export const forgeStep: Step = {
  id: 'forge',
  title: 'Run the forge (Forgejo) in the cluster',
  explain:
    "Forgejo keeps the sample repository and tells the CI about every push, inside your network (no public address needed). It runs as one pod on the chosen node's disk behind a NodePort; its admin is created inside the forge's own image, with the password from your file.",
  skip(ctx) {
    const o = optionsOf(ctx);
    return o.forgeUrl ? `an existing forge is used: ${o.forgeUrl}` : undefined;
  },
  plan(ctx) {
    const s = setupOf(ctx);
    return [
      { type: 'manifest', description: `namespace ${s.namespace}; Forgejo on ${s.dataNode} (${s.dataDir}/forgejo), a NodePort Service at ${s.forgeUrl}`, content: toYaml([ciNamespace(ctx), ...forgejoManifests(s)]) },
      { type: 'api', description: `Secret ${ADMIN_SECRET} in ${s.namespace}: user ${s.adminUser} and the password from ${optionsOf(ctx).adminPasswordFile} (the value is never shown)` },
      { type: 'manifest', description: `a Job that creates (or resets) the admin ${s.adminUser} inside the forge's image, from that Secret`, content: toYaml([adminJob(s, adminScript(), 1)]) },
      { type: 'api', description: `log in to ${s.forgeUrl}/api/v1 as ${s.adminUser} (must be an admin)` },
    ];
  },
  async run(ctx) {
    const s = setupOf(ctx);
    const c = await ctx.ports.cluster();
    for (const r of await c.apply([ciNamespace(ctx), adminSecret(ctx), ...forgejoManifests(s)], { signal: ctx.signal })) ctx.log(`${r.object.kind} ${r.object.metadata.name}: ${r.outcome}`);
    await waitReady(ctx, c, s.namespace, ['forgejo'], READY_MS);
    // A Job's pod template cannot change: every run makes a new one, and the earlier ones go.
    const job = adminJob(s, adminScript(), Math.floor(Date.now() / 1000));
    for (const old of await c.list('batch/v1', 'Job', s.namespace, { labelSelector: `app.kubernetes.io/name=${ADMIN_JOB}` })) await c.delete('batch/v1', 'Job', old.metadata.name, s.namespace);
    await c.create(job);
    ctx.progress({ message: `creating the admin ${s.adminUser} (job ${job.metadata.name})` });
    try {
      const done = await c.waitFor('batch/v1', 'Job', job.metadata.name, s.namespace, (o) => ((o.status as { succeeded?: number; failed?: number } | undefined)?.succeeded ?? 0) > 0 || ((o.status as { failed?: number } | undefined)?.failed ?? 0) > 3, { timeoutMs: ADMIN_MS, signal: ctx.signal });
      if (!((done.status as { succeeded?: number }).succeeded! > 0)) throw new Error(`the job ${job.metadata.name} failed`);
    } catch (err) {
      if (err instanceof ClusterError && err.kind !== 'timeout') throw err;
      throw new Error(`the forge admin was not created: ${(err as Error).message.split('\n')[0]}\n  fix: \`kubectl -n ${s.namespace} logs job/${job.metadata.name}\``);
    }
    if (!(await loginWorks(ctx))) throw new Error(`${s.adminUser} logs in to ${s.forgeUrl} but is not an admin\n  fix: choose another user with --set admin-user=NAME`);
    return { url: s.forgeUrl, admin: s.adminUser, job: job.metadata.name, image: s.images.forgejo, adminJob: ADMIN_JOB };
  },
  async verify(ctx) {
    return loginWorks(ctx).catch(() => false);
  },
};
