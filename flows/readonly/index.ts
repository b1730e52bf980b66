// The readonly stage (seed: "Kubernetes Read-Only API Zugriff"): a service account that may only read the API,
// a kubeconfig for it, and the proof — made with that kubeconfig itself — of what it may and may not do.
//
// Works on the cluster the control-plane stage built, or on any cluster named with --kubeconfig.
//
// The folder: one file per step, named by its id, in the order below. options.ts checks --set, manifests.ts
// builds the objects applied, kubeconfig.ts the file written, proof.ts the checks prove runs; common.ts holds
// what the steps share.
import type { Stage } from '../../src/engine/types.ts';
import { applyRbacStep } from './apply-rbac.ts';
import { issueTokenStep } from './issue-token.ts';
import { namespaceCheckStep } from './namespace-check.ts';
import { parseReadonlyOptions, READONLY_OPTIONS } from './options.ts';
import { proveStep } from './prove.ts';
import { formatProofTable, type ProofRow } from './proof.ts';
import { writeKubeconfigStep } from './write-kubeconfig.ts';

// What tests and other code import from flows/readonly/index.ts.
export { readonlyManifests } from './manifests.ts';
export { parseReadonlyOptions, type ReadonlyOptions } from './options.ts';
export type { ProofRow } from './proof.ts';
export { contains } from './apply-rbac.ts';

export const readonlyStage: Stage = {
  id: 'readonly',
  title: 'Read-only access',
  summary: 'A service account that may only read the cluster, a kubeconfig for it, and the proof of what it may and may not do.',
  requires: ['control-plane'],
  options: READONLY_OPTIONS,
  parseOptions: (raw, cluster, where) => ({ ...parseReadonlyOptions(raw, cluster, where) }),
  report({ outputOf }) {
    const k = outputOf('write-kubeconfig');
    const proof = outputOf('prove');
    const have: string[] = [];
    if (k) have.push(`A read-only kubeconfig: ${String(k.path)} (mode 0600, context ${String(k.context)}${k.expiresAt ? `, expires ${String(k.expiresAt)}` : ''})`);
    if (Array.isArray(proof?.rows)) have.push('What it may and may not do:', ...formatProofTable(proof.rows as unknown as ProofRow[]).split('\n'));
    const next = k ? [`Try it: kubectl --kubeconfig ${String(k.path)} get pods -A`, ...(k.revoke ? [`To take the access away: ${String(k.revoke)}`] : [])] : [];
    return { have, next };
  },
  steps: [namespaceCheckStep, applyRbacStep, issueTokenStep, writeKubeconfigStep, proveStep],
};
