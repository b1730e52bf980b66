// Step activate: the sample repository on the forge (empty at first) switched on in the CI, which adds its push
// webhook to the forge, and the CI's repository secret the build pushes with: the registry's docker
// config.json, from the registry stage's password file (the value travels in the request only).
import type { Step } from '../../src/engine/types.ts';
import { REGISTRY_AUTH_SECRET } from './pipeline.ts';
import { BRANCH, ciPortOf, ciServerOf, dockerConfigJson, forgeLoginOf, registryAccessOf, setupOf } from './common.ts';

export const activateStep: Step = {
  id: 'activate',
  title: 'Switch the sample repository on in the CI',
  explain: "The CI builds only repositories that are switched on; switching one on makes the forge call the CI on every push. The build step gets the registry login as a CI secret, never written into the repository.",
  plan(ctx) {
    const s = setupOf(ctx);
    return [
      { type: 'api', description: `create repository ${s.adminUser}/${s.app} on ${s.forgeUrl} (branch ${BRANCH}) if it is missing` },
      { type: 'api', description: `activate ${s.adminUser}/${s.app} in ${s.ciUrl} (it adds the forge's push webhook) and set its secret ${REGISTRY_AUTH_SECRET} (the login for ${s.registry}; the value is never shown)` },
    ];
  },
  async run(ctx) {
    const s = setupOf(ctx);
    const ci = await ciPortOf(ctx);
    const repo = await ci.repository(forgeLoginOf(ctx), s.app, BRANCH, ctx.signal);
    ctx.log(`repository ${repo.cloneUrl}: ${repo.created ? 'created' : 'there'}`);
    const auth = dockerConfigJson(registryAccessOf(ctx, await ctx.ports.cluster()));
    const r = await ci.activate(ciServerOf(ctx), s.app, { [REGISTRY_AUTH_SECRET]: auth }, ctx.signal);
    ctx.log(`the CI's repository ${r.id}: ${r.hooked ? 'activated, push webhook added to the forge' : 'already active'}; secret ${REGISTRY_AUTH_SECRET} set`);
    return { repo: `${s.adminUser}/${s.app}`, cloneUrl: repo.cloneUrl, ciRepoId: r.id };
  },
  async verify(ctx) {
    return (await ciPortOf(ctx)).activated(ciServerOf(ctx), setupOf(ctx).app, ctx.signal).catch(() => false);
  },
};
