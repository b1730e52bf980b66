// Step deploy-account: the target namespace, the ServiceAccount the pipeline deploys with and its rights there
// (Deployments: read, patch, update, watch; nothing else, nowhere else), the app's Deployment and Service with a
// placeholder image until the first pipeline rolls it, and the registry pull Secret the app's pods need.
import type { Step, StepContext } from '../../src/engine/types.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';
import { pullSecret, toYaml } from '../registry/manifests.ts';
import { optionsOf, PULL_SECRET, registryAccessOf, setupOf } from './common.ts';
import { appManifests, deployAccountManifests, MANAGED_BY, RBAC_API } from './manifests.ts';

function targetNamespace(ctx: StepContext): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: optionsOf(ctx).targetNamespace, labels: MANAGED_BY } };
}

/** Until the pipeline builds the app, its Deployment runs the sample's base image (the pipeline replaces it). */
function placeholderApp(ctx: StepContext): KubeObject[] {
  const s = setupOf(ctx);
  return appManifests(s, s.images.sampleBase, PULL_SECRET);
}

export const deployAccountStep: Step = {
  id: 'deploy-account',
  title: 'Make the deploy account and the app',
  explain:
    "The pipeline's deploy step runs as a ServiceAccount that may change Deployments in the app's namespace and nothing else, so a pipeline (or whoever changes the repository) cannot reach the rest of the cluster. The app's Deployment is made once; from then on the pipeline rolls it.",
  plan(ctx) {
    const s = setupOf(ctx);
    return [
      { type: 'manifest', description: `namespace ${s.targetNamespace}; ServiceAccount ${s.namespace}/${s.deployAccount} with a Role on Deployments in ${s.targetNamespace} only`, content: toYaml([targetNamespace(ctx), ...deployAccountManifests(s)]) },
      { type: 'manifest', description: `the app's Deployment and Service in ${s.targetNamespace} (created once, with a placeholder image; the pipeline rolls it)`, content: toYaml(placeholderApp(ctx)) },
      { type: 'api', description: `pull Secret ${PULL_SECRET} in ${s.targetNamespace} for ${s.registry} (the registry stage's login; the value is never shown)` },
    ];
  },
  async run(ctx) {
    const s = setupOf(ctx);
    const c = await ctx.ports.cluster();
    const r = registryAccessOf(ctx, c);
    const objects = [targetNamespace(ctx), ...deployAccountManifests(s), pullSecret(s.targetNamespace, r.hostPort, r.user, r.password)];
    for (const x of await c.apply(objects, { signal: ctx.signal })) ctx.log(`${x.object.kind} ${x.object.metadata.name}: ${x.outcome}`);
    // Applied only when missing: applying it again would take the image the pipeline set back to the placeholder.
    for (const o of placeholderApp(ctx)) {
      if (await c.get(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace)) continue;
      await c.create(o);
      ctx.log(`${o.kind} ${o.metadata.name}: created`);
    }
    return { account: `${s.namespace}/${s.deployAccount}`, namespace: s.targetNamespace };
  },
  async verify(ctx) {
    const s = setupOf(ctx);
    const c = await ctx.ports.cluster();
    const [sa, role, binding, app] = await Promise.all([
      c.get('v1', 'ServiceAccount', s.deployAccount, s.namespace),
      c.get(RBAC_API, 'Role', s.deployAccount, s.targetNamespace),
      c.get(RBAC_API, 'RoleBinding', s.deployAccount, s.targetNamespace),
      c.get('apps/v1', 'Deployment', s.app, s.targetNamespace),
    ]);
    return Boolean(sa && role && binding && app);
  },
};
