// The exported kubeconfig: built here (pure), written by the write-kubeconfig step with mode 0600.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { KUBECONFIG_MARK, type ReadonlyOptions } from './options.ts';
import { describeScope, tokenSecretName } from './manifests.ts';

/** What the plan shows instead of the token: the token exists only at run time, only in the file. */
export const TOKEN_PLACEHOLDER = '<token: issued at run time>';

export interface KubeconfigInput {
  opts: Pick<ReadonlyOptions, 'account' | 'namespace' | 'scope' | 'token' | 'clusterName'>;
  server: string;
  caPem: string;
  token: string;
  /** ISO time, or null for a long-lived token. */
  expiresAt: string | null;
}

export function contextName(o: Pick<ReadonlyOptions, 'account' | 'clusterName'>): string {
  return `${o.account}@${o.clusterName}`;
}

/** A kubeconfig (YAML, no comments) that logs in to `server` with a bearer token; other stages' accounts use it too. */
export function tokenKubeconfig(k: { clusterName: string; context: string; namespace?: string; server: string; caPem: string; token: string }): string {
  const context: Record<string, string> = { cluster: k.clusterName, user: k.context };
  if (k.namespace) context.namespace = k.namespace;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: k.clusterName, cluster: { server: k.server, 'certificate-authority-data': Buffer.from(k.caPem).toString('base64') } }],
    users: [{ name: k.context, user: { token: k.token } }],
    contexts: [{ name: k.context, context }],
    'current-context': k.context,
    preferences: {},
  };
  return stringify(doc, { lineWidth: 0 });
}

export function buildKubeconfig(k: KubeconfigInput): string {
  const { opts } = k;
  const name = contextName(opts);
  const namespace = opts.scope.kind === 'namespace' ? opts.scope.namespace : undefined;
  const header = [
    KUBECONFIG_MARK,
    `# Read-only access as ServiceAccount ${opts.namespace}/${opts.account} (${describeScope(opts.scope)}).`,
    k.expiresAt ? `# The token expires at ${k.expiresAt}.` : '# WARNING: a long-lived token that never expires.',
    `# Revoke it: kubectl delete secret ${tokenSecretName(opts.account, opts.token)} -n ${opts.namespace}`,
    '',
  ].join('\n');
  return header + tokenKubeconfig({ clusterName: opts.clusterName, context: name, namespace, server: k.server, caPem: k.caPem, token: k.token });
}

/** The token of a kubeconfig text (its current context's user), or undefined. */
export function tokenOf(text: string): string | undefined {
  return /^\s*token:\s*["']?([^\s"']+)["']?\s*$/m.exec(text)?.[1];
}

/** Writes atomically (temp file + rename) with mode 0600, whatever the umask and the old file's mode. */
export function writePrivateFile(file: string, text: string): void {
  // The default place (STATE_DIR/CLUSTER/) may not exist yet; a folder the user named was checked to exist.
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.fchmodSync(fd, 0o600);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
