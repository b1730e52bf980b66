// The lab's Deployment controller and kubelet in one: a Deployment's pods are "ready" at once, unless the
// practice fault webhook-crashloop is on for the webhook server (then its pod keeps crashing), or
// registry-no-storage for the registry (then its one pod stays Pending: the storage node is tainted disk-pressure).
import type { KubeObject } from '../../ports/cluster.ts';
import { hasAdmissionFault } from './admission.ts';
import { keyOf, type LabState } from './state.ts';

const REGISTRY_LABEL = 'app.kubernetes.io/name';

/** The registry Deployment's pod as the real scheduler leaves it when no node may take it. */
function pendingRegistryPod(state: LabState, d: KubeObject): KubeObject {
  const nodes = [...state.objects.values()].filter((o) => o.kind === 'Node').length;
  const labels = ((d.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template?.metadata?.labels) ?? {};
  // In today's scheduler's words (it no longer names the taint).
  const message = `0/${nodes} nodes are available: 1 node(s) had untolerated taint(s), ${nodes - 1} node(s) didn't match Pod's node affinity/selector. preemption: 0/${nodes} nodes are available: ${nodes} Preemption is not helpful for scheduling.`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${d.metadata.name}-lab-pending`, namespace: d.metadata.namespace, labels, resourceVersion: String(++state.rv) },
    spec: (d.spec as { template?: { spec?: unknown } }).template?.spec as Record<string, unknown>,
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] },
  };
}

/** The kubelet's taint on the storage node (the registry's nodeSelector names it) while its disk is full. */
function diskPressure(state: LabState, d: KubeObject, on: boolean): void {
  const name = (d.spec as { template?: { spec?: { nodeSelector?: Record<string, string> } } }).template?.spec?.nodeSelector?.['kubernetes.io/hostname'];
  const node = name ? state.objects.get(keyOf('v1', 'Node', undefined, name)) : undefined;
  if (!node) return;
  const spec = (node.spec ??= {}) as { taints?: Array<{ key: string; effect: string }> };
  const others = (spec.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/disk-pressure');
  const taints = on ? [...others, { key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' }] : others;
  if (JSON.stringify(taints) === JSON.stringify(spec.taints ?? [])) return;
  spec.taints = taints;
  node.metadata.resourceVersion = String(++state.rv);
}

function isRegistry(d: KubeObject): boolean {
  return d.metadata.name === 'registry' && (d.metadata.labels as Record<string, string> | undefined)?.[REGISTRY_LABEL] === 'registry';
}

export function advanceDeployments(state: LabState): void {
  for (const d of state.objects.values()) {
    if (d.apiVersion !== 'apps/v1' || d.kind !== 'Deployment' || d.metadata.deletionTimestamp) continue;
    const replicas = (d.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    const crashing = hasAdmissionFault(state, 'webhook-crashloop') && d.metadata.name === 'job-ttl-webhook';
    const pending = hasAdmissionFault(state, 'registry-no-storage') && isRegistry(d);
    const podKey = keyOf('v1', 'Pod', d.metadata.namespace, `${d.metadata.name}-lab-pending`);
    if (pending && !state.objects.has(podKey)) state.objects.set(podKey, pendingRegistryPod(state, d));
    if (!pending && isRegistry(d)) state.objects.delete(podKey);
    if (isRegistry(d)) diskPressure(state, d, pending);
    const ready = crashing || pending ? 0 : replicas;
    const status = {
      replicas,
      updatedReplicas: replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      conditions: [
        crashing
          ? { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'container webhook is in CrashLoopBackOff (practice-lab fault webhook-crashloop)' }
          : pending
            ? { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }
            : { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
      ],
    };
    if (JSON.stringify(d.status) !== JSON.stringify(status)) {
      d.status = status;
      d.metadata.resourceVersion = String(++state.rv);
    }
  }
}
