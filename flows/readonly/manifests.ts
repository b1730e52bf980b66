// The objects of the read-only stage, generated from its options: pure functions, no cluster needed.
import type { KubeObject } from '../../src/ports/cluster.ts';
import type { ReadonlyOptions, Scope, TokenKind } from './options.ts';

export const CLUSTER_ROLE = 'boardkube-readonly';
const RBAC_API = 'rbac.authorization.k8s.io/v1';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  account: 'boardkube.dev/readonly-account',
  namespace: 'boardkube.dev/readonly-namespace',
} as const;

export type ManifestOptions = Pick<ReadonlyOptions, 'account' | 'namespace' | 'scope' | 'token'>;

/**
 * Core ("") resources the cluster-read role may get, list and watch. RBAC can only add rights, never take one
 * away, so "everything except Secrets" must be spelled out: every core resource but
 *   secrets                         (the point of the exercise),
 *   pods/exec, pods/attach,         (commands inside containers — GET is enough to open them),
 *   pods/portforward, pods/proxy,
 *   nodes/proxy, services/proxy     (the kubelet and services behind the API server; nodes/proxy GET reaches exec),
 *   serviceaccounts/token,          (minting tokens),
 *   bindings, pods/binding, pods/eviction, pods/ephemeralcontainers, namespaces/finalize  (writes only).
 */
export const CORE_READ_RESOURCES = [
  'componentstatuses',
  'configmaps',
  'endpoints',
  'events',
  'limitranges',
  'namespaces',
  'namespaces/status',
  'nodes',
  'nodes/status',
  'persistentvolumeclaims',
  'persistentvolumeclaims/status',
  'persistentvolumes',
  'persistentvolumes/status',
  'pods',
  'pods/log',
  'pods/status',
  'podtemplates',
  'replicationcontrollers',
  'replicationcontrollers/scale',
  'replicationcontrollers/status',
  'resourcequotas',
  'resourcequotas/status',
  'serviceaccounts',
  'services',
  'services/status',
] as const;

/**
 * Built-in API groups read whole ("*": every resource and subresource, verbs get/list/watch only). None of them
 * holds Secrets or a GET door into containers. Custom resources (CRDs) are not included: their groups are not
 * known in advance; scope=view uses the built-in view role, which well-behaved CRDs extend by aggregation.
 */
export const READ_GROUPS = [
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'metrics.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
] as const;

export const READ_VERBS = ['get', 'list', 'watch'] as const;

export function clusterReadRules(): Array<Record<string, string[]>> {
  return [
    { apiGroups: [''], resources: [...CORE_READ_RESOURCES], verbs: [...READ_VERBS] },
    { apiGroups: [...READ_GROUPS], resources: ['*'], verbs: [...READ_VERBS] },
  ];
}

/** The Secret the exported token hangs on: for a time-bound token, deleting it revokes every token bound to it. */
export function tokenSecretName(account: string, token: TokenKind): string {
  return token === 'long-lived' ? `${account}-token` : `${account}-token-anchor`;
}

export function bindingName(o: Pick<ManifestOptions, 'account' | 'namespace' | 'scope'>): string {
  return `${o.scope.kind === 'cluster-read' ? 'boardkube-readonly' : 'boardkube-view'}:${o.namespace}:${o.account}`;
}

export function accountLabels(o: Pick<ManifestOptions, 'account' | 'namespace'>): Record<string, string> {
  return { [LABELS.managedBy]: 'boardkube', [LABELS.account]: o.account, [LABELS.namespace]: o.namespace };
}

export function accountSelector(o: Pick<ManifestOptions, 'account' | 'namespace'>): string {
  return `${LABELS.account}=${o.account},${LABELS.namespace}=${o.namespace}`;
}

/** The username the API server gives the service account. */
export function serviceAccountUser(o: Pick<ManifestOptions, 'account' | 'namespace'>): string {
  return `system:serviceaccount:${o.namespace}:${o.account}`;
}

function scopeNamespace(scope: Scope): string | undefined {
  return scope.kind === 'namespace' ? scope.namespace : undefined;
}

/**
 * Everything the stage applies, in order: Namespace, ServiceAccount, (ClusterRole), binding, token Secret.
 * Applying them twice changes nothing.
 */
export function readonlyManifests(o: ManifestOptions): KubeObject[] {
  const labels = accountLabels(o);
  const subject = { kind: 'ServiceAccount', name: o.account, namespace: o.namespace };
  const objects: KubeObject[] = [
    // Bare on purpose: the namespace may be the user's own (even "default"); labels there are not ours to set.
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: o.account, namespace: o.namespace, labels, annotations: { 'boardkube.dev/purpose': `read-only API access (scope ${describeScope(o.scope)})` } },
    },
  ];
  if (o.scope.kind === 'cluster-read') {
    objects.push({
      apiVersion: RBAC_API,
      kind: 'ClusterRole',
      metadata: {
        name: CLUSTER_ROLE,
        labels: { [LABELS.managedBy]: 'boardkube' },
        annotations: { 'boardkube.dev/purpose': 'get/list/watch on every built-in resource except Secrets and the exec/attach/port-forward/proxy subresources' },
      },
      rules: clusterReadRules(),
    });
  }
  const roleRef = { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: o.scope.kind === 'cluster-read' ? CLUSTER_ROLE : 'view' };
  const ns = scopeNamespace(o.scope);
  objects.push({
    apiVersion: RBAC_API,
    kind: ns ? 'RoleBinding' : 'ClusterRoleBinding',
    metadata: { name: bindingName(o), ...(ns ? { namespace: ns } : {}), labels },
    roleRef,
    subjects: [subject],
  });
  const secretName = tokenSecretName(o.account, o.token);
  if (o.token === 'long-lived') {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name: secretName,
        namespace: o.namespace,
        labels,
        annotations: {
          'kubernetes.io/service-account.name': o.account,
          'boardkube.dev/purpose': 'a long-lived token that never expires: delete this Secret to revoke it',
        },
      },
    });
  } else {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: secretName,
        namespace: o.namespace,
        labels,
        annotations: { 'boardkube.dev/purpose': `tokens exported for ${o.namespace}/${o.account} are bound to this Secret: delete it to revoke them before they expire` },
      },
    });
  }
  return objects;
}

export function describeScope(s: Scope): string {
  switch (s.kind) {
    case 'cluster-read':
      return 'cluster-read: every built-in resource in every namespace, except Secrets';
    case 'view':
      return 'view: the built-in view role in every namespace';
    case 'namespace':
      return `namespace:${s.namespace}: the built-in view role in namespace ${s.namespace} only`;
  }
}

export { toYaml } from '../../src/util/manifest-yaml.ts';
