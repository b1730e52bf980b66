// Step certificate: the registry's serving certificate, signed on the master with the cluster CA.
import type { Step } from '../../src/engine/types.ts';
import { runAction } from '../configure/common.ts';
import { parseExpiry, signCertificateScript } from './certificate-script.ts';
import { CERT_DIR, master, optionsOf } from './common.ts';
import type { RegistryOptions } from './options.ts';

/** A certificate for a year, renewed by a re-run in its last 30 days. */
export const VALID_DAYS = 365;
export const RENEW_WITHIN_DAYS = 30;

export function certificateScript(o: RegistryOptions, masterAddress: string, masterName: string): string {
  return signCertificateScript({
    pkiDir: o.pkiDir,
    outDir: CERT_DIR,
    dnsNames: [masterName, `registry.${o.namespace}.svc`, `registry.${o.namespace}.svc.cluster.local`],
    // The address image references name first (the master's, unless --set address named another node's).
    ipAddresses: [...new Set([o.address, masterAddress])],
    days: VALID_DAYS,
    renewWithinDays: RENEW_WITHIN_DAYS,
  });
}

export const certificateStep: Step = {
  id: 'certificate',
  title: "Sign the registry's certificate with the cluster CA",
  explain:
    "Every node already trusts the cluster CA's signature on the API server. The registry's certificate is signed with the same CA, on the master, so its key never leaves it; it names the address the images are pulled from.",
  plan(ctx) {
    const host = master(ctx);
    return [{ type: 'command', description: `sign ${CERT_DIR}/tls.crt for ${optionsOf(ctx).hostPort} with the cluster CA (kept while valid for ${RENEW_WITHIN_DAYS}+ days)`, content: certificateScript(optionsOf(ctx), host.address, host.node), sudo: true }];
  },
  async run(ctx, actions) {
    const r = await runAction(ctx, master(ctx), actions[0]!);
    const expiresAt = parseExpiry(r.stdout);
    if (!expiresAt) throw new Error('the certificate was written, but its expiry could not be read');
    return { expiresAt, hostPort: optionsOf(ctx).hostPort };
  },
  async verify(ctx) {
    const r = await master(ctx).exec(`openssl verify -CAfile '${optionsOf(ctx).pkiDir}/ca.crt' '${CERT_DIR}/tls.crt' >/dev/null && openssl x509 -in '${CERT_DIR}/tls.crt' -noout -checkend ${RENEW_WITHIN_DAYS * 86400}`, { sudo: true, signal: ctx.signal, timeoutMs: 30_000 });
    return r.code === 0;
  },
};
