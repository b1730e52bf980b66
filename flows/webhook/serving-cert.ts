// Step serving-cert (mode webhook): the webhook's TLS Secret, kept while it is good for RENEW_DAYS more,
// renewed by a re-run when it is near its end (or expired, or made for other names).
import type { Step, StepContext } from '../../src/engine/types.ts';
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import { masterBuiltHere } from '../control-plane/common.ts';
import { certState, clusterCaSigningScript, dedicatedCaCert, parseSigned, RENEW_DAYS, tlsSecret, type ServingCert } from './certificate.ts';
import { optionsToVerify } from './verify-options.ts';
import { webhookOptions } from './options.ts';
import { serviceDnsNames, TLS_SECRET, WEBHOOK_NAMESPACE, webhookNamespace } from './server-manifests.ts';

/** Where the master keeps the cluster CA (kubeadm's certificatesDir). */
const MASTER_PKI = '/etc/kubernetes/pki';

async function signOnMaster(ctx: StepContext, names: string[]): Promise<ServingCert> {
  const host = ctx.ports.host(controlPlaneNode(ctx.cluster));
  const r = await host.exec(clusterCaSigningScript(MASTER_PKI, names), { sudo: true, signal: ctx.signal });
  if (r.code !== 0) throw new Error(`signing the webhook certificate with the cluster CA on the master failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
  const cert = parseSigned(r.stdout);
  // The serving key is a secret: redacted wherever it could show up.
  ctx.secrets.set('webhook-serving-key', cert.keyPem);
  return cert;
}

export function certStatusLine(notAfter: string, issuer: string): string {
  const days = Math.floor((Date.parse(notAfter) - Date.now()) / 86_400_000);
  return `webhook certificate (${issuer}) valid until ${notAfter.slice(0, 10)} (${days} days; a re-run renews it when fewer than ${RENEW_DAYS} are left)`;
}

export const servingCertStep: Step = {
  id: 'serving-cert',
  title: "The webhook's serving certificate",
  explain:
    "The API server calls the webhook over TLS and checks its certificate against the caBundle. The CSR API no longer signs such serving certificates, so boardkube signs it: with the cluster CA on the master (the CA key never leaves the master), or, on a cluster named with --kubeconfig only, with a CA made just for this webhook whose key is thrown away after signing. Valid a year; a re-run renews it when fewer than 30 days are left.",
  skip(ctx) {
    return webhookOptions(ctx).mode === 'webhook' ? undefined : 'mode policy: no server, no certificate';
  },
  plan(ctx) {
    const names = serviceDnsNames();
    const how = masterBuiltHere(ctx) ? `sign with the cluster CA on the master (${MASTER_PKI}/ca.key stays there)` : 'sign with a dedicated CA made for the webhook (its key is discarded after signing)';
    return [{ type: 'api', description: `keep Secret ${WEBHOOK_NAMESPACE}/${TLS_SECRET} if its certificate is good for ${RENEW_DAYS}+ days, else ${how}: ECDSA P-256 for ${names.join(', ')}` }];
  },
  async run(ctx) {
    const c = await ctx.ports.cluster();
    const names = serviceDnsNames();
    const secret = await c.get('v1', 'Secret', TLS_SECRET, WEBHOOK_NAMESPACE);
    const now = certState(secret, names);
    if (now.ok) {
      const issuer = String((secret?.metadata.annotations as Record<string, string> | undefined)?.['boardkube.dev/issuer'] ?? 'unknown CA');
      ctx.log(`the serving certificate is good until ${now.notAfter} (${now.daysLeft} days): kept`);
      return { notAfter: now.notAfter, issuer, renewed: false, status: certStatusLine(now.notAfter, issuer) };
    }
    ctx.log(now.why);
    const cert = masterBuiltHere(ctx) ? await signOnMaster(ctx, names) : dedicatedCaCert(names);
    await c.apply([webhookNamespace(), tlsSecret(cert)], { signal: ctx.signal });
    ctx.log(`Secret ${WEBHOOK_NAMESPACE}/${TLS_SECRET}: new certificate from the ${cert.issuer}, valid until ${cert.notAfter}`);
    return { notAfter: cert.notAfter, issuer: cert.issuer, renewed: true, status: certStatusLine(cert.notAfter, cert.issuer) };
  },
  async verify(ctx) {
    // Recorded done in the other mode: run again (and be skipped) instead of counting as done.
    if ((await optionsToVerify(ctx)).mode !== 'webhook') return false;
    const c = await ctx.ports.cluster();
    return certState(await c.get('v1', 'Secret', TLS_SECRET, WEBHOOK_NAMESPACE), serviceDnsNames()).ok;
  },
};
