// The webhook stage (seed: "Mutating Admission Controller", three articles): every new Job without
// spec.ttlSecondsAfterFinished gets a default, so finished Jobs never pile up. Mode policy (from 1.36): a
// MutatingAdmissionPolicy inside the API server. The mode's default comes from the catalogue by minor.
//
// Works on the cluster the control-plane stage built, or on any cluster named with --kubeconfig.
// The folder: one file per step (choose-mode, apply-policy, prove); options.ts checks --set, policy.ts builds
// the policy, proof.ts the Jobs the proof sends.
import type { Stage } from '../../src/engine/types.ts';
import { applyPolicyStep } from './apply-policy.ts';
import { chooseModeStep } from './choose-mode.ts';
import { parseWebhookOptions, WEBHOOK_OPTIONS } from './options.ts';
import { proveStep } from './prove.ts';

export { parseWebhookOptions, type WebhookOptions } from './options.ts';
export { policyManifests } from './policy.ts';

export const webhookStage: Stage = {
  id: 'webhook',
  title: 'Job TTL default',
  summary: 'Every new Job without a TTL gets one: a MutatingAdmissionPolicy (from 1.36) or the seed\'s mutating webhook.',
  requires: ['control-plane'],
  options: WEBHOOK_OPTIONS,
  parseOptions: (raw, cluster) => ({ ...parseWebhookOptions(raw, cluster) }),
  steps: [chooseModeStep, applyPolicyStep, proveStep],
};
