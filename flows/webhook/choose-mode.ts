// Step choose-mode: which way Jobs get their default TTL on this cluster, and why; refused (before anything
// changes) where the chosen way cannot work.
import { mutatingPolicySupport } from '../../src/catalog/admission.ts';
import { InputError, type Step } from '../../src/engine/types.ts';
import { ClusterError, type ClusterPort } from '../../src/ports/cluster.ts';
import { optionsToVerify } from './verify-options.ts';
import { webhookOptions, type WebhookOptions } from './options.ts';

/** Does the API server serve MutatingAdmissionPolicy in this version (gate and API group on)? */
export async function policyServed(c: ClusterPort, apiVersion: string): Promise<boolean> {
  try {
    await c.list(apiVersion, 'MutatingAdmissionPolicy');
    return true;
  } catch (err) {
    if (err instanceof ClusterError && err.kind === 'not-found') return false;
    throw err;
  }
}

export function modeReason(o: WebhookOptions): string {
  const support = mutatingPolicySupport({ minor: o.minor });
  const why = o.modeChosen === 'asked' ? 'as asked' : `the default for Kubernetes ${o.minor}`;
  if (o.mode === 'policy') {
    return `mode policy (${why}): a MutatingAdmissionPolicy makes the API server add the TTL itself, with no pod to run, no certificate to renew and nothing that can be down${support.kind === 'opt-in' ? `; on ${o.minor} it is beta and needs the apiserver flags --feature-gates=${support.gate}=true --runtime-config=${support.runtimeConfig}` : ''}`;
  }
  return `mode webhook (${why}): the seed's way, a small webhook server in the cluster that the API server calls over TLS for every new Job${support.kind === 'on' ? ' (mode policy would need no server on this version)' : ''}`;
}

/** The apiVersion mode policy uses; refuses with the reason when the server does not serve it. */
export async function requirePolicyApi(c: ClusterPort, o: WebhookOptions): Promise<string> {
  const support = mutatingPolicySupport({ minor: o.minor });
  if (support.kind === 'absent') throw new InputError('mode', `mode policy cannot work here: ${support.reason}`, 'use --set mode=webhook');
  if (await policyServed(c, support.apiVersion)) return support.apiVersion;
  if (support.kind === 'opt-in') {
    throw new InputError(
      'mode',
      `the API server at ${c.server} does not serve MutatingAdmissionPolicy (${support.apiVersion}): on ${o.minor} it is beta and off unless kube-apiserver runs with --feature-gates=${support.gate}=true and --runtime-config=${support.runtimeConfig}; nothing was changed`,
      `use --set mode=webhook, or turn both on for kube-apiserver (kubeadm ClusterConfiguration apiServer.extraArgs) and run the stage again`,
    );
  }
  throw new InputError(
    'mode',
    `the API server at ${c.server} does not serve MutatingAdmissionPolicy (${support.apiVersion}), which Kubernetes ${o.minor} has on by default: it runs another version than the cluster file says, or has the API switched off; nothing was changed`,
    'check kubernetesVersion in the cluster file against `kubectl version`, or use --set mode=webhook',
  );
}

export const chooseModeStep: Step = {
  id: 'choose-mode',
  title: 'Choose how Jobs get their TTL',
  explain:
    "Since 1.36 a MutatingAdmissionPolicy does inside the API server what the seed's Python webhook did: add spec.ttlSecondsAfterFinished to every new Job that has none. On 1.35 that API is beta and off, so the webhook (a small server, TLS, a CA bundle) is the way there. Either way a TTL the Job's author set is kept, and Jobs in kube-system are left alone.",
  plan(ctx) {
    const o = webhookOptions(ctx);
    return [{ type: 'api', description: `${modeReason(o)}; check that the API server serves what this mode needs` }];
  },
  async run(ctx) {
    const o = webhookOptions(ctx);
    ctx.log(modeReason(o));
    const c = await ctx.ports.cluster();
    if (o.mode === 'policy') {
      const apiVersion = await requirePolicyApi(c, o);
      ctx.log(`the API server serves ${apiVersion} MutatingAdmissionPolicy`);
      return { mode: o.mode, ttlSeconds: o.ttlSeconds, apiVersion };
    }
    return { mode: o.mode, ttlSeconds: o.ttlSeconds, apiVersion: null };
  },
  async verify(ctx) {
    const o = await optionsToVerify(ctx);
    if (o.mode === 'webhook') return true;
    const support = mutatingPolicySupport({ minor: o.minor });
    return support.kind !== 'absent' && (await policyServed(await ctx.ports.cluster(), support.apiVersion));
  },
};
