// Authentication: who a caller is (a fixed identity, or a token), and the tokens the lab issues (the lab
// admin token, TokenRequest, service-account-token Secrets). Tokens are kept only as SHA-256 hashes; a token
// stops working when it expires or when its ServiceAccount or bound object is deleted.
import { createHash, randomBytes } from 'node:crypto';
import { ClusterError, type Identity, type TokenOptions } from '../../ports/cluster.ts';
import { keyOf, type LabState, type TokenRecord } from './state.ts';

/** Who calls the lab: a fixed identity (`as()`), or whoever the token stands for, checked at each call. */
export type Caller = { identity: Identity } | { tokenHash: string };

/** The identity of kubeadm's admin.conf. */
export const LAB_ADMIN: Identity = { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] };

const MIN_TOKEN_SECONDS = 600;

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function saIdentity(namespace: string, name: string): { username: string; groups: string[] } {
  return { username: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

/** A new service-account token (the kind TokenRequest and the token controller hand out). */
export function newServiceAccountToken(): string {
  return `lab.${randomBytes(32).toString('base64url')}`;
}

/** Keeps the token's record under its hash (never the token itself). */
export function recordToken(state: LabState, token: string, record: Omit<TokenRecord, 'hash'>): void {
  state.tokens.set(sha256(token), { hash: sha256(token), ...record });
}

/** A never-expiring token for the lab admin. */
export function issueAdminToken(state: LabState): string {
  const token = `lab-admin-${randomBytes(24).toString('base64url')}`;
  recordToken(state, token, { username: LAB_ADMIN.username, groups: LAB_ADMIN.groups, expiresAt: null });
  return token;
}

/** TokenRequest for a ServiceAccount, once the caller is authorized; `what` words the errors. */
export function requestToken(state: LabState, what: string, namespace: string, serviceAccount: string, seconds: number, opts: TokenOptions): { token: string; expiresAt: string } {
  const sa = state.objects.get(keyOf('v1', 'ServiceAccount', namespace, serviceAccount));
  if (!sa) throw new ClusterError('not-found', `${what}: serviceaccounts "${serviceAccount}" not found`);
  if (!Number.isInteger(seconds) || seconds < MIN_TOKEN_SECONDS) {
    throw new ClusterError('invalid', `${what}: TokenRequest.authentication.k8s.io "${serviceAccount}" is invalid: spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than 10 minutes`);
  }
  let bound: TokenRecord['bound'];
  if (opts.boundObjectRef) {
    const { kind, name } = opts.boundObjectRef;
    const b = state.objects.get(keyOf('v1', kind, namespace, name));
    if (!b) throw new ClusterError('not-found', `${what}: ${kind.toLowerCase()}s "${name}" not found`);
    bound = { apiVersion: 'v1', kind, namespace, name, uid: String(b.metadata.uid) };
  }
  const token = newServiceAccountToken();
  const expiresAt = new Date(Math.floor(state.now() / 1000) * 1000 + seconds * 1000).toISOString().replace('.000Z', 'Z');
  recordToken(state, token, {
    ...saIdentity(namespace, serviceAccount),
    expiresAt,
    serviceAccount: { namespace, name: serviceAccount, uid: String(sa.metadata.uid) },
    bound,
  });
  return { token, expiresAt };
}

/** The caller's identity; ClusterError('unreachable') while the server is down, ('unauthorized') for a dead token. */
export function authenticate(state: LabState, caller: Caller, what: string): Identity {
  if (state.down) {
    throw new ClusterError('unreachable', `cannot connect to the API server at ${state.server}: connection refused (${what})`, 'is kube-apiserver running? (practice lab: the server is switched off)');
  }
  if ('identity' in caller) return caller.identity;
  const unauthorized = () =>
    new ClusterError('unauthorized', `${what}: the API server at ${state.server} rejected the credentials (401 Unauthorized)`, 'the token may have expired or been revoked; get a fresh kubeconfig');
  const t = state.tokens.get(caller.tokenHash);
  if (!t) throw unauthorized();
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= state.now()) throw unauthorized();
  if (t.serviceAccount) {
    const sa = state.objects.get(keyOf('v1', 'ServiceAccount', t.serviceAccount.namespace, t.serviceAccount.name));
    if (!sa || sa.metadata.uid !== t.serviceAccount.uid) throw unauthorized();
  }
  if (t.bound) {
    const b = state.objects.get(keyOf(t.bound.apiVersion, t.bound.kind, t.bound.namespace, t.bound.name));
    if (!b || b.metadata.uid !== t.bound.uid || b.metadata.deletionTimestamp) throw unauthorized();
  }
  return { username: t.username, groups: t.groups };
}
