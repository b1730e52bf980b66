// The registry stage (seed: "Docker Registry in Kubernetes", "Kubernetes Zertifikate verwenden"): a registry
// in the cluster whose certificate the cluster CA signed, trusted by every node's runtime at one HOST:PORT.
//
// One file per step, in the order below (check first: bad input is refused before anything is touched; trust before deploy: the deploy waits until the registry answers the
// master over TLS). options.ts checks --set; report.ts says what the user has after; certificate-script.ts, manifests.ts and
// trust-files.ts generate what is run, applied and written; common.ts holds what the steps share.
import type { Stage } from '../../src/engine/types.ts';
import { certificateStep } from './certificate.ts';
import { checkStep } from './check.ts';
import { credentialsStep } from './credentials.ts';
import { deployStep } from './deploy.ts';
import { parseRegistryOptions, REGISTRY_OPTIONS } from './options.ts';
import { proveStep } from './prove.ts';
import { registryReport } from './report.ts';
import { trustStep } from './trust.ts';

export const registryStage: Stage = {
  id: 'registry',
  title: 'Registry',
  summary: 'A registry in the cluster, its certificate signed by the cluster CA, trusted by every node at one address.',
  requires: ['workers'],
  options: REGISTRY_OPTIONS,
  report: registryReport,
  parseOptions: (raw, cluster, where) => ({ ...parseRegistryOptions(raw, cluster, where) }),
  steps: [checkStep, certificateStep, credentialsStep, trustStep, deployStep, proveStep],
};
