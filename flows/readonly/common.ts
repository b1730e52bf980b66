// What the readonly steps share: where the token waits between steps, the revoke command, and talking to the
// cluster as the exported kubeconfig.
import * as fs from 'node:fs';
import type { StepContext } from '../../src/engine/types.ts';
import { ClusterError, type ClusterPort } from '../../src/ports/cluster.ts';
import { tokenOf } from './kubeconfig.ts';
import { serviceAccountUser, tokenSecretName } from './manifests.ts';
import type { ReadonlyOptions } from './options.ts';

/** Where the token lives between issue-token and write-kubeconfig: in memory only (and redacted from logs). */
export function tokenSecretKey(o: ReadonlyOptions): string {
  return `readonly-token:${o.namespace}/${o.account}`;
}

export function revokeCommand(o: ReadonlyOptions): string {
  return `kubectl delete secret ${tokenSecretName(o.account, o.token)} -n ${o.namespace}`;
}

export async function whoamiOr(c: ClusterPort): Promise<{ username: string; groups: string[] }> {
  try {
    return await c.whoami();
  } catch (err) {
    // SelfSubjectReview is GA since 1.28; an older API server lacks it. Anything else is a real failure.
    if (err instanceof ClusterError && err.kind === 'not-found') return { username: '(unknown: SelfSubjectReview not served)', groups: [] };
    throw err;
  }
}

/** The token in the exported kubeconfig, if the file is there and holds one. */
export function fileToken(o: ReadonlyOptions): string | undefined {
  try {
    return tokenOf(fs.readFileSync(o.kubeconfigOut, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Runs `use` with a connection made from the exported kubeconfig, and closes it whatever happens. */
export async function asExported<T>(admin: ClusterPort, o: ReadonlyOptions, use: (port: ClusterPort) => Promise<T>): Promise<T> {
  const port = await admin.fromKubeconfig(o.kubeconfigOut);
  try {
    return await use(port);
  } finally {
    await port.close?.();
  }
}

/** Does the kubeconfig file's token still authenticate as this service account? */
export async function kubeconfigWorks(ctx: StepContext, o: ReadonlyOptions): Promise<boolean> {
  let st: fs.Stats;
  try {
    st = fs.statSync(o.kubeconfigOut);
  } catch {
    return false;
  }
  if (!st.isFile() || (st.mode & 0o777) !== 0o600) return false;
  const c = await ctx.ports.cluster();
  try {
    return await asExported(c, o, async (port) => (await port.whoami()).username === serviceAccountUser(o));
  } catch (err) {
    if (err instanceof ClusterError && (err.kind === 'unauthorized' || err.kind === 'config' || err.kind === 'tls')) return false;
    throw err;
  }
}
