// The lab's Deployment controller and kubelet in one: a Deployment's pods are "ready" at once, unless the
// practice fault webhook-crashloop is on for the webhook server (then its pod keeps crashing).
import { hasAdmissionFault } from './admission.ts';
import type { LabState } from './state.ts';

export function advanceDeployments(state: LabState): void {
  for (const d of state.objects.values()) {
    if (d.apiVersion !== 'apps/v1' || d.kind !== 'Deployment' || d.metadata.deletionTimestamp) continue;
    const replicas = (d.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    const crashing = hasAdmissionFault(state, 'webhook-crashloop') && d.metadata.name === 'job-ttl-webhook';
    const ready = crashing ? 0 : replicas;
    const status = {
      replicas,
      updatedReplicas: replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      conditions: [
        crashing
          ? { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'container webhook is in CrashLoopBackOff (practice-lab fault webhook-crashloop)' }
          : { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
      ],
    };
    if (JSON.stringify(d.status) !== JSON.stringify(status)) {
      d.status = status;
      d.metadata.resourceVersion = String(++state.rv);
    }
  }
}
