// Step write-kubeconfig: the API server URL, the cluster CA and the token in a kubeconfig file with mode 0600.
import type { Step, StepContext } from '../../src/engine/types.ts';
import { ClusterError, type ClusterPort } from '../../src/ports/cluster.ts';
import { fileToken, kubeconfigWorks, revokeCommand, tokenSecretKey } from './common.ts';
import { issueToken } from './issue-token.ts';
import { buildKubeconfig, contextName, TOKEN_PLACEHOLDER, writePrivateFile } from './kubeconfig.ts';
import { formatDuration, readonlyOptions, type ReadonlyOptions } from './options.ts';

async function serverAndCa(ctx: StepContext, o: ReadonlyOptions, c: ClusterPort): Promise<{ server: string; caPem: string }> {
  let caPem = c.caPem();
  if (!caPem.trim()) {
    // An admin kubeconfig without a CA (insecure-skip-tls-verify): take the CA every namespace publishes.
    const cm = await c.get('v1', 'ConfigMap', 'kube-root-ca.crt', o.namespace);
    caPem = String((cm?.data as Record<string, string> | undefined)?.['ca.crt'] ?? '');
    if (!caPem) throw new ClusterError('config', `the admin kubeconfig carries no cluster CA and ConfigMap ${o.namespace}/kube-root-ca.crt has none`, 'use a kubeconfig with certificate-authority-data');
    ctx.log(`the admin kubeconfig has no CA: using the one from ConfigMap ${o.namespace}/kube-root-ca.crt`);
  }
  return { server: c.server, caPem };
}

export const writeKubeconfigStep: Step = {
  id: 'write-kubeconfig',
  title: 'Write the read-only kubeconfig',
  explain:
    'The kubeconfig holds the API server URL, the cluster CA and the token, with a context named ACCOUNT@CLUSTER. It is written with mode 0600 (only you can read it); the token is never shown, logged or saved with the progress.',
  async plan(ctx) {
    const o = readonlyOptions(ctx.options);
    let server = '<server URL of the cluster>';
    let caPem = '<CA of the cluster>';
    try {
      // Reading the admin kubeconfig is local; nothing is sent, so `plan` works without the cluster.
      const c = await ctx.ports.cluster();
      server = c.server;
      caPem = c.caPem() || caPem;
    } catch {
      // plan shows placeholders; the run reports the real problem.
    }
    const expiresAt = o.token === 'long-lived' ? null : `<issued time + ${formatDuration(o.durationSeconds)}>`;
    return [
      {
        type: 'file',
        description: `write ${o.kubeconfigOut} (context ${contextName(o)}, mode 0600)`,
        path: o.kubeconfigOut,
        mode: 0o600,
        content: buildKubeconfig({ opts: o, server, caPem, token: TOKEN_PLACEHOLDER, expiresAt }),
      },
    ];
  },
  async run(ctx) {
    const o = readonlyOptions(ctx.options);
    const c = await ctx.ports.cluster();
    let token = ctx.secrets.get(tokenSecretKey(o));
    let expiresAt: string | null = null;
    const issued = ctx.outputOf('readonly', 'issue-token');
    if (token) {
      expiresAt = typeof issued?.expiresAt === 'string' ? issued.expiresAt : null;
    } else {
      ctx.log('the token is not in memory (tokens are never saved): issuing a fresh one');
      ({ token, expiresAt } = await issueToken(ctx, c, o));
    }
    const { server, caPem } = await serverAndCa(ctx, o, c);
    writePrivateFile(o.kubeconfigOut, buildKubeconfig({ opts: o, server, caPem, token, expiresAt }));
    if (!(await kubeconfigWorks(ctx, o))) {
      // The token in memory was revoked or expired since it was issued (e.g. its Secret was deleted).
      ctx.log('the token in memory is no longer accepted: issuing a fresh one');
      ({ token, expiresAt } = await issueToken(ctx, c, o));
      writePrivateFile(o.kubeconfigOut, buildKubeconfig({ opts: o, server, caPem, token, expiresAt }));
    }
    ctx.log(`wrote ${o.kubeconfigOut} (mode 0600, context ${contextName(o)}); try it: kubectl --kubeconfig ${o.kubeconfigOut} get pods${o.scope.kind === 'namespace' ? '' : ' -A'}`);
    return { path: o.kubeconfigOut, context: contextName(o), server, expiresAt, revoke: revokeCommand(o) };
  },
  async verify(ctx) {
    const o = readonlyOptions(ctx.options);
    const token = fileToken(o);
    if (!token) return false;
    // When it was just written, this token is the one in memory.
    const mem = ctx.secrets.get(tokenSecretKey(o));
    if (mem && mem !== token) return false;
    return kubeconfigWorks(ctx, o);
  },
};
