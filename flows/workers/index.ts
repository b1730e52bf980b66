// The workers stage (seed: "4 worker nodes"): every worker joins the cluster the control-plane stage built,
// in parallel, and is Ready and labelled. One file per step; token.ts makes the run's join token.
import { workerNodes } from '../../src/cluster/spec.ts';
import type { Stage } from '../../src/engine/types.ts';
import { joinStep } from './join.ts';

export const workersStage: Stage = {
  id: 'workers',
  title: 'Workers',
  summary: '`kubeadm join` on every worker, in parallel, each with a fresh token, until all are Ready.',
  requires: ['control-plane'],
  report({ cluster, outputOf }) {
    const joined = workerNodes(cluster).filter((n) => outputOf('join', n.name));
    const have = joined.map((n) => `${n.name} (${n.address}): joined the cluster as a worker, Ready`);
    const left = workerNodes(cluster).filter((n) => !outputOf('join', n.name)).map((n) => n.name);
    return { have, next: left.length ? [`Still to join: ${left.join(', ')} (run the stage again)`] : [`All ${joined.length} workers are in: kubectl get nodes shows them Ready.`] };
  },
  steps: [joinStep],
};
