// Step namespace-check: before anything changes, the stage's namespaces are its own or free. One that exists
// with other owners is refused (bad input, nothing touched): the deploy account would get rights over their
// Deployments, and the CI's pods would run among theirs.
import { InputError, type Step, type StepContext } from '../../src/engine/types.ts';
import { foreignNamespace } from './manifests.ts';
import { optionsOf } from './common.ts';

function namespaces(ctx: StepContext): Array<{ name: string; field: string }> {
  const o = optionsOf(ctx);
  return [
    { name: o.namespace, field: 'namespace' },
    { name: o.targetNamespace, field: 'target-namespace' },
  ];
}

async function problems(ctx: StepContext): Promise<InputError[]> {
  const c = await ctx.ports.cluster();
  const out: InputError[] = [];
  for (const n of namespaces(ctx)) {
    const why = foreignNamespace(await c.get('v1', 'Namespace', n.name));
    if (why) out.push(new InputError(n.field, why, `choose a namespace of the stage's own with --set ${n.field}=NAME (one that does not exist yet)`));
  }
  return out;
}

export const namespaceCheckStep: Step = {
  id: 'namespace-check',
  title: 'Check the namespaces are free',
  explain:
    "The CI and the app each get a namespace of their own. A namespace that already exists and is not boardkube's belongs to someone else: the deploy account would get rights over their Deployments, so the stage refuses it before changing anything.",
  plan(ctx) {
    return [{ type: 'api', description: `read namespaces ${namespaces(ctx).map((n) => n.name).join(' and ')}: refuse one that exists with other owners (no label app.kubernetes.io/managed-by=boardkube)` }];
  },
  async run(ctx) {
    const [first] = await problems(ctx);
    if (first) throw first;
    return { namespaces: namespaces(ctx).map((n) => n.name) };
  },
  async verify(ctx) {
    return (await problems(ctx)).length === 0;
  },
};
