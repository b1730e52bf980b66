// The ci stage (seed: "Kubernetes continuous Integration", "Kubernetes Deployment mit CI Server"): a forge
// (Forgejo) and a CI (Woodpecker, Drone's maintained fork, with its Kubernetes backend) in the cluster; a push to
// the sample repository builds an image with the registry stage's trust and rolls it out with an account that
// may deploy and nothing more.
//
// One file per step, in the order below. options.ts checks --set; manifests.ts, pipeline.ts and forge.ts's
// adminScript generate what is applied, pushed and run; the forge and CI are reached through the CI port
// (src/ports/ci.ts); deploy-proof.ts holds the deploy account's checks; common.ts what the steps share.
import type { Stage } from '../../src/engine/types.ts';
import { formatProofTable, type ProofRow } from '../readonly/proof.ts';
import { activateStep } from './activate.ts';
import { adminPasswordStep } from './admin-password.ts';
import { ciServerStep } from './ci-server.ts';
import { deployAccountStep } from './deploy-account.ts';
import { forgeStep } from './forge-deploy.ts';
import { namespaceCheckStep } from './namespace-check.ts';
import { oauthAppStep } from './oauth-app.ts';
import { CI_OPTIONS, parseCiOptions } from './options.ts';
import { formatCiRows, proveStep, type CiProofRow } from './prove.ts';
import { sampleStep } from './sample.ts';

export const ciStage: Stage = {
  id: 'ci',
  title: 'CI on the cluster',
  summary: 'A forge (Forgejo) and a CI (Woodpecker) on the cluster: a push builds an image into the registry and rolls it out with a deploy-only account.',
  requires: ['registry'],
  options: CI_OPTIONS,
  parseOptions: (raw, cluster, where) => ({ ...parseCiOptions(raw, cluster, where) }),
  report({ outputOf }) {
    const forge = outputOf('forge');
    const ci = outputOf('ci');
    const pw = outputOf('admin-password');
    const sample = outputOf('sample');
    const prove = outputOf('prove');
    const oauth = outputOf('oauth-app');
    const have: string[] = [];
    const url = String(forge?.url ?? oauth?.forge ?? '');
    if (url) have.push(`The forge: ${url} (user ${String(forge?.admin ?? '')}, password in ${String(pw?.passwordFile ?? '')}, mode 0600)`);
    if (ci) have.push(`The CI: ${String(ci.url)} (log in through the forge)`);
    if (sample) have.push(`The sample repository: ${url}/${String(sample.repo)} (branch ${String(sample.branch)}, last pushed ${String(sample.commit).slice(0, 8)})`);
    if (Array.isArray(prove?.rows)) have.push(...formatCiRows(prove.rows as unknown as CiProofRow[]).split('\n'));
    if (Array.isArray(prove?.account)) have.push('What the deploy account may and may not do:', ...formatProofTable(prove.account as unknown as ProofRow[]).split('\n'));
    const next = sample ? [`Change the app: git clone ${url}/${String(sample.repo)}.git, edit index.html, push: the CI builds and deploys it`] : [];
    return { have, next };
  },
  steps: [namespaceCheckStep, adminPasswordStep, forgeStep, oauthAppStep, ciServerStep, deployAccountStep, activateStep, sampleStep, proveStep],
};
