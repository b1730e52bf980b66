// Step issue-token: a time-bound token from the TokenRequest API (bound to its anchor Secret), or the long-lived
// one the token controller puts into its Secret. Kept in memory only, for write-kubeconfig.
import type { Step, StepContext } from '../../src/engine/types.ts';
import { secretValue, type ClusterPort } from '../../src/ports/cluster.ts';
import { fileToken, kubeconfigWorks, revokeCommand, tokenSecretKey } from './common.ts';
import { tokenSecretName } from './manifests.ts';
import { formatDuration, readonlyOptions, type ReadonlyOptions } from './options.ts';

/** Issues (or, long-lived, reads) the token and keeps it in ctx.secrets; write-kubeconfig calls it again when the token is gone. */
export async function issueToken(ctx: StepContext, c: ClusterPort, o: ReadonlyOptions): Promise<{ token: string; expiresAt: string | null }> {
  if (o.token === 'long-lived') {
    const name = tokenSecretName(o.account, o.token);
    ctx.log(`WARNING: a long-lived token never expires. Anyone holding the kubeconfig can read the cluster until you run: ${revokeCommand(o)}`);
    const secret = await c.waitFor('v1', 'Secret', name, o.namespace, (s) => secretValue(s, 'token') !== undefined, {
      timeoutMs: 60_000,
      signal: ctx.signal,
    });
    const token = secretValue(secret, 'token')!;
    ctx.secrets.set(tokenSecretKey(o), token);
    return { token, expiresAt: null };
  }
  const anchor = tokenSecretName(o.account, o.token);
  const r = await c.createToken(o.namespace, o.account, o.durationSeconds, { boundObjectRef: { kind: 'Secret', name: anchor }, signal: ctx.signal });
  ctx.secrets.set(tokenSecretKey(o), r.token);
  const got = Math.round((Date.parse(r.expiresAt) - Date.now()) / 1000);
  if (Number.isFinite(got) && got < o.durationSeconds - 120) {
    ctx.log(`the API server shortened the token to ${formatDuration(Math.max(got, 0))} (its --service-account-max-token-expiration)`);
  }
  return { token: r.token, expiresAt: r.expiresAt };
}

export const issueTokenStep: Step = {
  id: 'issue-token',
  title: 'Issue the token',
  explain:
    'A time-bound token comes from the TokenRequest API (what `kubectl create token` does) and expires by itself; it is also bound to a Secret, so deleting that Secret revokes it early. A long-lived token sits in a kubernetes.io/service-account-token Secret and NEVER expires: anyone who holds it can read the cluster until that Secret is deleted. The token stays in memory: it is never logged or saved with the progress.',
  plan(ctx) {
    const o = readonlyOptions(ctx.options);
    if (o.token === 'long-lived') {
      return [
        {
          type: 'api',
          description: `WARNING: long-lived token (never expires): read the token the token controller puts into Secret ${o.namespace}/${tokenSecretName(o.account, o.token)}; revoke with: ${revokeCommand(o)}`,
        },
      ];
    }
    return [
      {
        type: 'api',
        description: `TokenRequest for ServiceAccount ${o.namespace}/${o.account}, valid ${formatDuration(o.durationSeconds)}, bound to Secret ${tokenSecretName(o.account, o.token)} (revoke early with: ${revokeCommand(o)})`,
        content: JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: o.durationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: tokenSecretName(o.account, o.token) } },
        }),
      },
    ];
  },
  async run(ctx) {
    const o = readonlyOptions(ctx.options);
    const c = await ctx.ports.cluster();
    const { expiresAt } = await issueToken(ctx, c, o);
    ctx.log(expiresAt ? `token issued, valid until ${expiresAt}` : 'long-lived token read from its Secret');
    return { token: o.token, expiresAt, boundTo: `Secret ${o.namespace}/${tokenSecretName(o.account, o.token)}`, revoke: revokeCommand(o) };
  },
  async verify(ctx) {
    const o = readonlyOptions(ctx.options);
    // Right after the run the new token is in memory, not yet in the file. Otherwise (resume, re-run) the token
    // in the kubeconfig must still work: expired or revoked means issue a new one.
    const mem = ctx.secrets.get(tokenSecretKey(o));
    if (mem && mem !== fileToken(o)) return true;
    return kubeconfigWorks(ctx, o);
  },
};
