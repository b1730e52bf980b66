// Step register (mode webhook): the MutatingWebhookConfiguration, with the CA of the serving certificate as
// caBundle; and the other mode's policy removed, so Jobs are never defaulted twice.
import { mutatingPolicySupport } from '../../src/catalog/admission.ts';
import type { Step, StepContext } from '../../src/engine/types.ts';
import { describeObject } from '../../src/ports/cluster.ts';
import { toYaml } from '../../src/util/manifest-yaml.ts';
import { contains } from '../readonly/index.ts';
import { certState } from './certificate.ts';
import { policyServed } from './choose-mode.ts';
import { optionsToVerify } from './verify-options.ts';
import { webhookOptions } from './options.ts';
import { POLICY_NAME } from './policy.ts';
import { serviceDnsNames, TLS_SECRET, WEBHOOK_NAMESPACE, webhookConfiguration } from './server-manifests.ts';

async function caBundle(ctx: StepContext): Promise<string> {
  const c = await ctx.ports.cluster();
  const st = certState(await c.get('v1', 'Secret', TLS_SECRET, WEBHOOK_NAMESPACE), serviceDnsNames());
  if (!st.ok) throw new Error(`the serving certificate is not usable: ${st.why} (run the stage again: serving-cert renews it)`);
  return st.caPem;
}

/** Removes the policy of mode policy, if an earlier run made one. */
async function removePolicy(ctx: StepContext): Promise<void> {
  const support = mutatingPolicySupport({ minor: webhookOptions(ctx).minor });
  const c = await ctx.ports.cluster();
  if (support.kind === 'absent' || !(await policyServed(c, support.apiVersion))) return;
  for (const kind of ['MutatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy']) {
    if (await c.delete(support.apiVersion, kind, POLICY_NAME)) ctx.log(`${kind} ${POLICY_NAME} deleted (left from mode policy)`);
  }
}

export const registerStep: Step = {
  id: 'register',
  title: 'Register the webhook with the API server',
  explain:
    'The MutatingWebhookConfiguration tells the API server to send every new Job outside kube-system to the webhook Service, trusting the CA of its certificate (caBundle). failurePolicy Ignore: when the webhook is down, Jobs are still created, just without the default; sideEffects None and a 5 s timeout keep it harmless.',
  skip(ctx) {
    return webhookOptions(ctx).mode === 'webhook' ? undefined : 'mode policy: no webhook';
  },
  plan() {
    return [
      { type: 'manifest', description: `apply MutatingWebhookConfiguration ${POLICY_NAME} (caBundle: the CA in Secret ${WEBHOOK_NAMESPACE}/${TLS_SECRET})`, content: toYaml([webhookConfiguration('<CA of the serving certificate>')]) },
      { type: 'api', description: `delete MutatingAdmissionPolicy and binding ${POLICY_NAME} if an earlier run in mode policy made them` },
    ];
  },
  async run(ctx) {
    const c = await ctx.ports.cluster();
    for (const r of await c.apply([webhookConfiguration(await caBundle(ctx))], { signal: ctx.signal })) ctx.log(`${describeObject(r.object)} ${r.outcome}`);
    await removePolicy(ctx);
  },
  async verify(ctx) {
    // Recorded done in the other mode: run again (and be skipped) instead of counting as done.
    if ((await optionsToVerify(ctx)).mode !== 'webhook') return false;
    const c = await ctx.ports.cluster();
    const got = await c.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', POLICY_NAME);
    return !!got && contains(got.webhooks, webhookConfiguration(await caBundle(ctx)).webhooks);
  },
};
