// Admission by minor: which MutatingAdmissionPolicy API a release serves and how to switch it on, and the
// default mode of the webhook stage. Sources: KEP-3962 (alpha 1.32, beta 1.34 off by default, GA 1.36 on),
// kubernetes.io "Mutating Admission Policy"; the gate's life is in gates.ts.
import { gateIn, minorOf } from './gates.ts';
import type { KubernetesRelease } from './versions.ts';

const POLICY_API_BY_MINOR: Array<{ since: number; apiVersion: string }> = [
  { since: 32, apiVersion: 'admissionregistration.k8s.io/v1alpha1' },
  { since: 34, apiVersion: 'admissionregistration.k8s.io/v1beta1' },
  { since: 36, apiVersion: 'admissionregistration.k8s.io/v1' },
];

export type PolicySupport =
  /** Served and on without any flag. */
  | { kind: 'on'; apiVersion: string }
  /** Present but off: the apiserver needs the gate and the API group version switched on. */
  | { kind: 'opt-in'; apiVersion: string; gate: string; runtimeConfig: string }
  | { kind: 'absent'; reason: string };

export function mutatingPolicySupport(release: Pick<KubernetesRelease, 'minor'>): PolicySupport {
  const minor = minorOf(release);
  const api = [...POLICY_API_BY_MINOR].reverse().find((a) => a.since <= minor);
  const gate = gateIn('MutatingAdmissionPolicy', release);
  if (!api || gate.kind !== 'exists') return { kind: 'absent', reason: `Kubernetes ${release.minor} has no MutatingAdmissionPolicy (it appeared in 1.32)` };
  if (gate.default && gate.stage === 'GA') return { kind: 'on', apiVersion: api.apiVersion };
  return { kind: 'opt-in', apiVersion: api.apiVersion, gate: 'MutatingAdmissionPolicy', runtimeConfig: `${api.apiVersion}=true` };
}

export type WebhookMode = 'policy' | 'webhook';

/** policy where it needs no flag (no pod, no certificate); the seed's webhook elsewhere. */
export function defaultWebhookMode(release: Pick<KubernetesRelease, 'minor'>): WebhookMode {
  return mutatingPolicySupport(release).kind === 'on' ? 'policy' : 'webhook';
}
