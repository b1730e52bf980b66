// Step sample: the sample app (its .woodpecker.yaml deploy pipeline, Dockerfile and page) committed and pushed
// to the forge over git: the push is what starts the pipeline. The plan shows every file as pushed.
import type { Step } from '../../src/engine/types.ts';
import { BRANCH, ciPortOf, forgeLoginOf, pipelineInputOf, setupOf } from './common.ts';
import { sampleFiles } from './pipeline.ts';

export const sampleStep: Step = {
  id: 'sample',
  title: 'Push the sample app to the forge',
  explain:
    "The sample repository holds a small web page, a Dockerfile and the pipeline file (.woodpecker.yaml): build the image in the cluster, push it to the registry as HOST:PORT/app:COMMIT, roll the app's Deployment as the deploy account. Pushing it runs the pipeline.",
  plan(ctx) {
    const s = setupOf(ctx);
    return Object.entries(sampleFiles(pipelineInputOf(ctx))).map(([name, content]) => ({
      type: 'api' as const,
      description: `commit ${name} to ${s.adminUser}/${s.app} (branch ${BRANCH}) and push it over git`,
      path: `${s.forgeUrl}/${s.adminUser}/${s.app}.git:${name}`,
      content,
    }));
  },
  async run(ctx) {
    const s = setupOf(ctx);
    const ci = await ciPortOf(ctx);
    const login = forgeLoginOf(ctx);
    const repo = await ci.repository(login, s.app, BRANCH, ctx.signal);
    const { commit } = await ci.push(login, repo.cloneUrl, BRANCH, sampleFiles(pipelineInputOf(ctx)), `boardkube: the sample app, built and deployed by the CI`, ctx.signal);
    ctx.log(`pushed ${commit} to ${repo.cloneUrl} (${BRANCH})`);
    return { commit, repo: `${s.adminUser}/${s.app}`, branch: BRANCH };
  },
  async verify(ctx) {
    const head = await (await ciPortOf(ctx)).branchHead(forgeLoginOf(ctx), setupOf(ctx).app, BRANCH, ctx.signal).catch(() => null);
    return head !== null;
  },
};
