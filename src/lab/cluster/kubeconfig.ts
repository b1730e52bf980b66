// Kubeconfig files for the lab: the admin kubeconfig it hands out, and reading one back (its server and CA
// must be the lab's; only token users).
import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ClusterError } from '../../ports/cluster.ts';
import type { LabState } from './state.ts';

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
  clusters?: Array<{ name: string; cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ name: string; user?: { token?: string } }>;
}

/** The text of an admin kubeconfig with this token, like /etc/kubernetes/admin.conf. */
export function adminKubeconfigText(state: LabState, token: string): string {
  const name = state.clusterName;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${state.server}`,
    `    certificate-authority-data: ${Buffer.from(state.ca).toString('base64')}`,
    'users:',
    '- name: kubernetes-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: kubernetes-admin@${name}`,
    '  context:',
    `    cluster: ${name}`,
    '    user: kubernetes-admin',
    `current-context: kubernetes-admin@${name}`,
    '',
  ].join('\n');
}

/**
 * The token of the kubeconfig's current user, once its server and CA are found to be the lab's; throws
 * ClusterError ('config', 'unreachable', 'tls') like the real adapter would.
 */
export function tokenFromKubeconfig(state: LabState, path: string): string {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ClusterError('config', code === 'ENOENT' ? `kubeconfig ${path} does not exist` : `cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  let cfg: KubeconfigDoc;
  try {
    cfg = parseYaml(text) as KubeconfigDoc;
  } catch (err) {
    throw new ClusterError('config', `${path} is not a valid kubeconfig: ${(err as Error).message.split('\n')[0]}`);
  }
  const ctxName = cfg?.['current-context'];
  const ctx = cfg?.contexts?.find((c) => c.name === ctxName)?.context;
  const cluster = cfg?.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = cfg?.users?.find((u) => u.name === ctx?.user)?.user;
  if (!ctx || !cluster?.server || !user) throw new ClusterError('config', `${path}: the current context names no complete cluster and user`);
  if (cluster.server.replace(/\/+$/, '') !== state.server) {
    throw new ClusterError('unreachable', `cannot connect to the API server at ${cluster.server}: connection refused (the practice lab serves ${state.server})`);
  }
  const ca = cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8') : '';
  if (ca.trim() !== state.ca.trim()) {
    throw new ClusterError('tls', `${cluster.server}: the server's certificate is not signed by the CA in KUBECONFIG (${path})`, 'use the kubeconfig of this very cluster');
  }
  if (!user.token) throw new ClusterError('config', `${path}: the practice lab accepts only token users`);
  return user.token;
}
