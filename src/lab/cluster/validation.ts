// What the lab refuses to store, worded like the real API server: invalid names, bindings without a
// roleRef, objects in a missing or terminating namespace.
import { ClusterError, type KubeObject } from '../../ports/cluster.ts';
import type { KindInfo } from './kinds.ts';
import { keyOf, RBAC, type LabState } from './state.ts';

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);
}

function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && s.split('.').every((p) => p.length > 0 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p));
}

export function validate(info: KindInfo, o: KubeObject, what: string): void {
  const name = o.metadata.name;
  const rbac = info.apiVersion === RBAC;
  const ok = rbac ? name.length > 0 && !/[/%]/.test(name) && name !== '.' && name !== '..' : isDnsSubdomain(name);
  if (!ok) {
    const why = rbac
      ? 'may not contain "/" or "%"'
      : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    throw new ClusterError('invalid', `${what}: ${info.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": ${why}`);
  }
  if (info.kind === 'Namespace' && !isDnsLabel(name)) {
    throw new ClusterError('invalid', `${what}: Namespace "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`);
  }
  if (info.kind === 'RoleBinding' || info.kind === 'ClusterRoleBinding') {
    const ref = o.roleRef as { kind?: string; name?: string } | undefined;
    if (!ref?.kind || !ref.name) throw new ClusterError('invalid', `${what}: ${info.kind} "${name}" is invalid: roleRef: Required value`);
  }
}

/** A namespaced object needs its namespace to exist and not to be terminating. */
export function checkNamespace(state: LabState, info: KindInfo, o: KubeObject, what: string): void {
  if (!info.namespaced) return;
  const ns = state.objects.get(keyOf('v1', 'Namespace', undefined, o.metadata.namespace ?? 'default'));
  if (!ns) throw new ClusterError('not-found', `${what}: namespaces "${o.metadata.namespace}" not found`, `create the namespace first`);
  if (ns.metadata.deletionTimestamp) {
    throw new ClusterError('forbidden', `${what}: ${info.plural} "${o.metadata.name}" is forbidden: unable to create new content in namespace ${o.metadata.namespace} because it is being terminated`, 'wait until the namespace is gone, or use another namespace');
  }
}
