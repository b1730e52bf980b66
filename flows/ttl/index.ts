// The ttl stage (seed: "Feature Gates konfigurieren"): finished Jobs disappear on their own. The seed's gate
// is gone since 1.25, so the stage sets none for TTL, refuses gates the cluster's minor does not know (at parse
// time, before anything changes), and proves the real ttl-after-finished controller deletes a finished Job.
//
// Works on the cluster the control-plane stage built, or on any cluster named with --kubeconfig.
// The folder: one file per step (feature-gates, prove); options.ts checks --set, proof-job.ts is the Job.
import type { Stage } from '../../src/engine/types.ts';
import { featureGatesStep } from './feature-gates.ts';
import { parseTtlOptions, TTL_OPTIONS } from './options.ts';
import { proveStep } from './prove.ts';

export { parseGates, parseTtlOptions, type TtlOptions } from './options.ts';
export { runTtlProof } from './prove.ts';

export const ttlStage: Stage = {
  id: 'ttl',
  title: 'TTL after finished',
  summary: 'Finished Jobs disappear on their own: no feature gate since 1.25, proven with a Job the cluster deletes.',
  requires: ['control-plane'],
  options: TTL_OPTIONS,
  parseOptions: (raw, cluster) => ({ ...parseTtlOptions(raw, cluster) }),
  steps: [featureGatesStep, proveStep],
};
