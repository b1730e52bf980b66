// Which kinds the lab serves: the built-in ones and those of its CustomResourceDefinitions.
import { ClusterError } from '../../ports/cluster.ts';
import type { LabState } from './state.ts';

export interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const BUILTIN_KINDS: Array<[string, string, string, boolean]> = [
  ['v1', 'Namespace', 'namespaces', false],
  ['v1', 'Node', 'nodes', false],
  ['v1', 'PersistentVolume', 'persistentvolumes', false],
  ['v1', 'Pod', 'pods', true],
  ['v1', 'ConfigMap', 'configmaps', true],
  ['v1', 'Secret', 'secrets', true],
  ['v1', 'ServiceAccount', 'serviceaccounts', true],
  ['v1', 'Service', 'services', true],
  ['v1', 'Endpoints', 'endpoints', true],
  ['v1', 'Event', 'events', true],
  ['v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true],
  ['v1', 'LimitRange', 'limitranges', true],
  ['v1', 'ResourceQuota', 'resourcequotas', true],
  ['apps/v1', 'Deployment', 'deployments', true],
  ['apps/v1', 'DaemonSet', 'daemonsets', true],
  ['apps/v1', 'StatefulSet', 'statefulsets', true],
  ['apps/v1', 'ReplicaSet', 'replicasets', true],
  ['batch/v1', 'Job', 'jobs', true],
  ['batch/v1', 'CronJob', 'cronjobs', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true],
  ['admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false],
  ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false],
  ['admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicy', 'mutatingadmissionpolicies', false],
  ['admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicyBinding', 'mutatingadmissionpolicybindings', false],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false],
  ['networking.k8s.io/v1', 'Ingress', 'ingresses', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true],
  ['storage.k8s.io/v1', 'StorageClass', 'storageclasses', false],
  ['coordination.k8s.io/v1', 'Lease', 'leases', true],
  ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true],
];

/** The kind's plural and scope; ClusterError('not-found') when the lab serves no such kind. */
export function resolveKind(state: LabState, apiVersion: string, kind: string): KindInfo {
  const builtin = BUILTIN_KINDS.find(([v, k]) => v === apiVersion && k === kind);
  if (builtin) return { apiVersion, kind, plural: builtin[2], namespaced: builtin[3] };
  for (const crd of state.objects.values()) {
    if (crd.kind !== 'CustomResourceDefinition') continue;
    const spec = crd.spec as { group?: string; scope?: string; names?: { kind?: string; plural?: string }; versions?: Array<{ name: string }> } | undefined;
    if (spec?.names?.kind !== kind || !spec.group || !spec.names.plural) continue;
    if ((spec.versions ?? []).some((v) => `${spec.group}/${v.name}` === apiVersion)) {
      return { apiVersion, kind, plural: spec.names.plural, namespaced: spec.scope !== 'Cluster' };
    }
  }
  throw new ClusterError('not-found', `the API server at ${state.server} has no kind ${kind} in ${apiVersion}`, 'check apiVersion and kind; for a custom resource, install its CRD first');
}
