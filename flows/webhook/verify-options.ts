// What verify judges by. In a run: the parsed options. Under `status --verify`, which has no --set of the run
// that did the work: the mode and TTL that run left in the cluster (a webhook configuration, or the policy).
import { mutatingPolicySupport } from '../../src/catalog/admission.ts';
import type { StepContext } from '../../src/engine/types.ts';
import { policyServed } from './choose-mode.ts';
import { isParsed, parseWebhookOptions, webhookOptions, type WebhookOptions } from './options.ts';
import { POLICY_NAME } from './policy.ts';
import { SERVER_NAME, WEBHOOK_NAMESPACE } from './server-manifests.ts';

const ttlIn = (text: string | undefined): string | undefined => /(\d+)/.exec(text ?? '')?.[1];

export async function optionsToVerify(ctx: StepContext): Promise<WebhookOptions> {
  if (isParsed(ctx.options)) return webhookOptions(ctx);
  const c = await ctx.ports.cluster();
  if (await c.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', POLICY_NAME)) {
    const d = await c.get('apps/v1', 'Deployment', SERVER_NAME, WEBHOOK_NAMESPACE);
    const env = ((d?.spec as { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } } | undefined)?.template?.spec?.containers?.[0]?.env) ?? [];
    return parseWebhookOptions({ mode: 'webhook', ttl: ttlIn(env.find((e) => e.name === 'DEFAULT_TTL_SECONDS')?.value) }, ctx.cluster);
  }
  const support = mutatingPolicySupport({ minor: webhookOptions(ctx).minor });
  if (support.kind !== 'absent' && (await policyServed(c, support.apiVersion))) {
    const p = await c.get(support.apiVersion, 'MutatingAdmissionPolicy', POLICY_NAME);
    const expr = ((p?.spec as { mutations?: Array<{ applyConfiguration?: { expression?: string } }> } | undefined)?.mutations?.[0]?.applyConfiguration?.expression);
    if (p) return parseWebhookOptions({ mode: 'policy', ttl: ttlIn(expr) }, ctx.cluster);
  }
  return webhookOptions(ctx);
}
