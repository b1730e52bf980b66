// RBAC as the real authorizer evaluates it: ClusterRoleBindings and RoleBindings (users, groups, service
// accounts) granting the rules of their ClusterRole or Role (verbs, groups, resources, subresources,
// resourceNames, `*`); group `system:masters` bypasses RBAC.
import { ClusterError, groupOf, type Identity } from '../../ports/cluster.ts';
import type { KindInfo } from './kinds.ts';
import { keyOf, RBAC, type LabState } from './state.ts';

/** What a request asks to do, as the authorizer sees it. */
export interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

/** Whether RBAC lets `id` do `a`. */
export function allowed(state: LabState, id: Identity, a: Attributes): boolean {
  if (id.groups.includes('system:masters')) return true;
  const rolesRules = (ref: { kind?: string; name?: string } | undefined, ns?: string): PolicyRule[] => {
    if (!ref?.name) return [];
    const role = ref.kind === 'Role' ? state.objects.get(keyOf(RBAC, 'Role', ns, ref.name)) : state.objects.get(keyOf(RBAC, 'ClusterRole', undefined, ref.name));
    return (role?.rules as PolicyRule[] | undefined) ?? [];
  };
  for (const o of state.objects.values()) {
    if (o.apiVersion !== RBAC) continue;
    if (o.kind === 'ClusterRoleBinding') {
      if (!subjectsMatch(o.subjects as Subject[] | undefined, id)) continue;
      if (rolesRules(o.roleRef as { kind?: string; name?: string }).some((r) => ruleAllows(r, a))) return true;
    } else if (o.kind === 'RoleBinding' && a.namespace !== undefined && o.metadata.namespace === a.namespace) {
      if (!subjectsMatch(o.subjects as Subject[] | undefined, id)) continue;
      if (rolesRules(o.roleRef as { kind?: string; name?: string }, a.namespace).some((r) => ruleAllows(r, a))) return true;
    }
  }
  return false;
}

/** Throws ClusterError('forbidden'), worded like the real API server, unless RBAC lets `id` do it. */
export function authorize(state: LabState, id: Identity, what: string, a: { verb: string; info: KindInfo; namespace?: string; name?: string; subresource?: string }): void {
  const group = groupOf(a.info.apiVersion);
  if (allowed(state, id, { verb: a.verb, group, resource: a.info.plural, subresource: a.subresource, namespace: a.namespace, name: a.name })) return;
  const res = a.subresource ? `${a.info.plural}/${a.subresource}` : a.info.plural;
  const subject = a.name && a.verb !== 'create' ? `${a.info.plural} "${a.name}"` : a.info.plural;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  throw new ClusterError(
    'forbidden',
    `${what}: ${subject} is forbidden: User "${id.username}" cannot ${a.verb} resource "${res}" in API group "${group}" ${scope}`,
    'use a kubeconfig with the right (e.g. the admin kubeconfig), or ask a cluster admin to grant it',
  );
}

function subjectsMatch(subjects: Subject[] | undefined, id: Identity): boolean {
  return (subjects ?? []).some((s) => {
    if (s.kind === 'User') return s.name === id.username;
    if (s.kind === 'Group') return id.groups.includes(s.name);
    if (s.kind === 'ServiceAccount') return id.username === `system:serviceaccount:${s.namespace ?? ''}:${s.name}`;
    return false;
  });
}

function ruleAllows(r: PolicyRule, a: Attributes): boolean {
  if (r.nonResourceURLs && !r.resources) return false;
  const has = (list: string[] | undefined, v: string) => (list ?? []).includes('*') || (list ?? []).includes(v);
  if (!has(r.verbs, a.verb)) return false;
  if (!has(r.apiGroups, a.group)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = r.resources ?? [];
  const resOk = resources.some((x) => x === '*' || x === combined || (a.subresource !== undefined && (x === `*/${a.subresource}` || x === `${a.resource}/*`)));
  if (!resOk) return false;
  if (r.resourceNames && r.resourceNames.length > 0) return a.name !== undefined && r.resourceNames.includes(a.name);
  return true;
}
