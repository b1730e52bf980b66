// Step apply-policy (mode policy): the MutatingAdmissionPolicy and its binding, applied server-side.
import { contains } from '../readonly/index.ts';
import type { Step } from '../../src/engine/types.ts';
import { describeObject } from '../../src/ports/cluster.ts';
import { mutatingPolicySupport } from '../../src/catalog/admission.ts';
import { toYaml } from '../../src/util/manifest-yaml.ts';
import { requirePolicyApi } from './choose-mode.ts';
import { webhookOptions } from './options.ts';
import { policyManifests } from './policy.ts';

export const applyPolicyStep: Step = {
  id: 'apply-policy',
  title: 'Apply the MutatingAdmissionPolicy',
  explain:
    "The policy matches Job creations outside kube-system whose spec has no ttlSecondsAfterFinished (a CEL match condition) and merges `spec.ttlSecondsAfterFinished: N` into them (an ApplyConfiguration mutation). Its binding switches it on for the whole cluster. failurePolicy Ignore: should the policy ever fail, Jobs are still created, just without the default.",
  skip(ctx) {
    return webhookOptions(ctx.options).mode === 'policy' ? undefined : 'mode webhook: no policy';
  },
  plan(ctx) {
    const o = webhookOptions(ctx.options);
    const support = mutatingPolicySupport({ minor: o.minor });
    const objects = policyManifests(support.kind === 'absent' ? '?' : support.apiVersion, o.ttlSeconds);
    return [{ type: 'manifest', description: `apply (server-side) ${objects.map((m) => describeObject(m)).join(', ')}`, content: toYaml(objects) }];
  },
  async run(ctx) {
    const o = webhookOptions(ctx.options);
    const c = await ctx.ports.cluster();
    const apiVersion = await requirePolicyApi(c, o);
    for (const r of await c.apply(policyManifests(apiVersion, o.ttlSeconds), { signal: ctx.signal })) ctx.log(`${describeObject(r.object)} ${r.outcome}`);
    return { apiVersion, ttlSeconds: o.ttlSeconds };
  },
  async verify(ctx) {
    const o = webhookOptions(ctx.options);
    const support = mutatingPolicySupport({ minor: o.minor });
    if (support.kind === 'absent') return false;
    const c = await ctx.ports.cluster();
    for (const want of policyManifests(support.apiVersion, o.ttlSeconds)) {
      const got = await c.get(want.apiVersion, want.kind, want.metadata.name);
      if (!got || !contains(got.spec, want.spec)) return false;
    }
    return true;
  },
};
