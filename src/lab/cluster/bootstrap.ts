// What a fresh kubeadm cluster holds: the system namespaces, the built-in ClusterRoles and the admins'
// binding, the nodes (Ready), and the static control-plane pods of each control-plane node.
import type { KubeObject } from '../../ports/cluster.ts';
import { CLUSTER_ADMIN_RULES, VIEW_RULES } from './builtin-roles.ts';
import { resolveKind } from './kinds.ts';
import { keyOf, RBAC, type LabState } from './state.ts';
import { insertObject } from './store.ts';

export interface LabNode {
  name: string;
  role: 'control-plane' | 'worker';
}

/** The Node object a kubelet registers when its board joins (Ready); nothing when it is there already. */
export function registerNode(state: LabState, n: LabNode): void {
  const info = resolveKind(state, 'v1', 'Node');
  if (state.objects.has(keyOf('v1', 'Node', undefined, n.name))) return;
  insertObject(state, info, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/hostname': n.name, ...(n.role === 'control-plane' ? { 'node-role.kubernetes.io/control-plane': '' } : {}) } },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  }, 'bootstrap');
}

export function bootstrap(state: LabState, nodes: LabNode[]): void {
  const sys = (o: KubeObject) => insertObject(state, resolveKind(state, o.apiVersion, o.kind), o, 'bootstrap');
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) sys({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  sys({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'cluster-admin' }, rules: CLUSTER_ADMIN_RULES });
  sys({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'view' }, rules: VIEW_RULES });
  sys({
    apiVersion: RBAC,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kubeadm:cluster-admins' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
  });
  for (const n of nodes) {
    registerNode(state, n);
    if (n.role === 'control-plane') {
      for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
        sys({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${c}-${n.name}`, namespace: 'kube-system', labels: { component: c, tier: 'control-plane' } }, spec: { nodeName: n.name }, status: { phase: 'Running' } });
      }
      // kubeadm's CoreDNS addon, running (the control-plane stage waits for it).
      sys({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } }, spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 2, availableReplicas: 2 } });
    }
  }
}
