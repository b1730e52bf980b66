// The webhook stage (seed: "Mutating Admission Controller", three articles): every new Job without
// spec.ttlSecondsAfterFinished gets a default, so finished Jobs never pile up. Mode policy (from 1.36): a
// MutatingAdmissionPolicy inside the API server. Mode webhook (the seed's way): boardkube's own small server
// (server/job-ttl-webhook.mjs) in the cluster, TLS, caBundle. The mode's default comes from the catalogue.
//
// Works on the cluster the control-plane stage built, or on any cluster named with --kubeconfig.
// The folder: one file per step (choose-mode, apply-policy, serving-cert, deploy-server, register, prove);
// options.ts checks --set; policy.ts, server-manifests.ts and certificate.ts build what is applied;
// proof.ts the Jobs the proof sends; server-script.ts reads the server's source.
import type { Stage } from '../../src/engine/types.ts';
import { applyPolicyStep } from './apply-policy.ts';
import { chooseModeStep } from './choose-mode.ts';
import { deployServerStep } from './deploy-server.ts';
import { parseWebhookOptions, WEBHOOK_OPTIONS } from './options.ts';
import { proveStep } from './prove.ts';
import { registerStep } from './register.ts';
import { servingCertStep } from './serving-cert.ts';

export { parseWebhookOptions, type WebhookOptions } from './options.ts';
export { policyManifests } from './policy.ts';
export { webhookConfiguration } from './server-manifests.ts';
export { clusterCaSigningScript, dedicatedCaCert, certState } from './certificate.ts';
export { SERVER_SOURCE_PATH } from './server-script.ts';
export { admissionRows } from './proof.ts';

export const webhookStage: Stage = {
  id: 'webhook',
  title: 'Job TTL default',
  summary: 'Every new Job without a TTL gets one: a MutatingAdmissionPolicy (from 1.36) or the seed\'s mutating webhook.',
  requires: ['control-plane'],
  options: WEBHOOK_OPTIONS,
  parseOptions: (raw, cluster) => ({ ...parseWebhookOptions(raw, cluster) }),
  steps: [chooseModeStep, applyPolicyStep, servingCertStep, deployServerStep, registerStep, proveStep],
};
