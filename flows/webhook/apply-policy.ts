// Step apply-policy (mode policy): the MutatingAdmissionPolicy and its binding, applied server-side.
import { contains } from '../readonly/index.ts';
import type { Step } from '../../src/engine/types.ts';
import { describeObject } from '../../src/ports/cluster.ts';
import { mutatingPolicySupport } from '../../src/catalog/admission.ts';
import { toYaml } from '../../src/util/manifest-yaml.ts';
import { requirePolicyApi } from './choose-mode.ts';
import { optionsToVerify } from './verify-options.ts';
import { webhookOptions } from './options.ts';
import { MANAGED, POLICY_NAME, policyManifests } from './policy.ts';
import { WEBHOOK_NAMESPACE } from './server-manifests.ts';

export const applyPolicyStep: Step = {
  id: 'apply-policy',
  title: 'Apply the MutatingAdmissionPolicy',
  explain:
    "The policy matches Job creations outside kube-system whose spec has no ttlSecondsAfterFinished (a CEL match condition) and merges `spec.ttlSecondsAfterFinished: N` into them (an ApplyConfiguration mutation). Its binding switches it on for the whole cluster. failurePolicy Ignore: should the policy ever fail, Jobs are still created, just without the default.",
  skip(ctx) {
    return webhookOptions(ctx).mode === 'policy' ? undefined : 'mode webhook: no policy';
  },
  plan(ctx) {
    const o = webhookOptions(ctx);
    const support = mutatingPolicySupport({ minor: o.minor });
    const objects = policyManifests(support.kind === 'absent' ? '?' : support.apiVersion, o.ttlSeconds);
    return [
      { type: 'manifest', description: `apply (server-side) ${objects.map((m) => describeObject(m)).join(', ')}`, content: toYaml(objects) },
      { type: 'api', description: `delete MutatingWebhookConfiguration ${POLICY_NAME} and Namespace ${WEBHOOK_NAMESPACE} if an earlier run in mode webhook made them` },
    ];
  },
  async run(ctx) {
    const o = webhookOptions(ctx);
    const c = await ctx.ports.cluster();
    const apiVersion = await requirePolicyApi(c, o);
    for (const r of await c.apply(policyManifests(apiVersion, o.ttlSeconds), { signal: ctx.signal })) ctx.log(`${describeObject(r.object)} ${r.outcome}`);
    // Mode webhook of an earlier run: its configuration first (Jobs must not be defaulted twice), then its server.
    if (await c.delete('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', POLICY_NAME)) ctx.log(`MutatingWebhookConfiguration ${POLICY_NAME} deleted (left from mode webhook)`);
    const ns = await c.get('v1', 'Namespace', WEBHOOK_NAMESPACE);
    const ours = (ns?.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/part-of'] === MANAGED['app.kubernetes.io/part-of'];
    if (ours && (await c.delete('v1', 'Namespace', WEBHOOK_NAMESPACE))) ctx.log(`Namespace ${WEBHOOK_NAMESPACE} deleted (the webhook server of mode webhook)`);
    return { apiVersion, ttlSeconds: o.ttlSeconds };
  },
  async verify(ctx) {
    // Recorded done in the other mode: run again (and be skipped) instead of counting as done.
    const o = await optionsToVerify(ctx);
    if (o.mode !== 'policy') return false;
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
