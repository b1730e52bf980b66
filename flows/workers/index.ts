// The workers stage (seed: "4 worker nodes"): every worker joins the cluster the control-plane stage built,
// in parallel, and is Ready and labelled. One file per step; token.ts makes the run's join token.
import type { Stage } from '../../src/engine/types.ts';
import { joinStep } from './join.ts';

export const workersStage: Stage = {
  id: 'workers',
  title: 'Workers',
  summary: '`kubeadm join` on every worker, in parallel, each with a fresh token, until all are Ready.',
  requires: ['control-plane'],
  steps: [joinStep],
};
