// What the deploy account may and may not do, asked and tried with a kubeconfig of its own (the readonly stage's
// proof machinery): change Deployments in the target namespace, nothing else anywhere.
import { runChecks, type AccessCheck, type ProofRow } from '../readonly/proof.ts';
import type { ClusterPort } from '../../src/ports/cluster.ts';
import type { CiSetup } from './manifests.ts';

export function serviceAccountUser(s: Pick<CiSetup, 'namespace' | 'deployAccount'>): string {
  return `system:serviceaccount:${s.namespace}:${s.deployAccount}`;
}

export function deployChecks(s: Pick<CiSetup, 'namespace' | 'targetNamespace' | 'app' | 'deployAccount'>): AccessCheck[] {
  const t = s.targetNamespace;
  const deployment = (ns: string) => ({ group: 'apps', resource: 'deployments', namespace: ns });
  const probe = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `${s.app}-deploy-proof`, namespace: t }, spec: {} };
  return [
    { check: `get deployment ${s.app} in ${t}`, expected: 'allowed', question: { verb: 'get', ...deployment(t), name: s.app }, attempt: async (p) => ((await p.get('apps/v1', 'Deployment', s.app, t)) ? 'found' : 'allowed (not there yet)') },
    { check: `patch deployments in ${t}`, expected: 'allowed', question: { verb: 'patch', ...deployment(t) } },
    { check: `update deployments in ${t}`, expected: 'allowed', question: { verb: 'update', ...deployment(t) } },
    { check: `watch deployments in ${t} (rollout status)`, expected: 'allowed', question: { verb: 'watch', ...deployment(t) } },
    {
      check: `create deployments in ${t}`,
      expected: 'denied',
      question: { verb: 'create', ...deployment(t) },
      attempt: async (p) => {
        await p.create(probe, { dryRun: true });
        return 'created (dry run, nothing stored)';
      },
    },
    { check: `delete deployments in ${t}`, expected: 'denied', question: { verb: 'delete', ...deployment(t) } },
    { check: `update deployments in ${s.namespace} (the CI's own)`, expected: 'denied', question: { verb: 'update', ...deployment(s.namespace) } },
    { check: 'update deployments in kube-system', expected: 'denied', question: { verb: 'update', ...deployment('kube-system') }, attempt: async (p) => `${(await p.list('apps/v1', 'Deployment', 'kube-system')).length} deployments listed` },
    { check: 'list deployments in all namespaces', expected: 'denied', question: { verb: 'list', group: 'apps', resource: 'deployments' } },
    { check: `read secrets in ${t}`, expected: 'denied', question: { verb: 'get', resource: 'secrets', namespace: t }, attempt: async (p) => `${(await p.list('v1', 'Secret', t)).length} secrets listed` },
    { check: `create pods in ${t}`, expected: 'denied', question: { verb: 'create', resource: 'pods', namespace: t } },
    { check: `exec into pods in ${t}`, expected: 'denied', question: { verb: 'create', resource: 'pods', subresource: 'exec', namespace: t } },
    { check: `change roles in ${t}`, expected: 'denied', question: { verb: 'update', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: t } },
  ];
}

export function proveDeployAccount(port: ClusterPort, s: Parameters<typeof deployChecks>[0], withRequests = true): Promise<ProofRow[]> {
  return runChecks(port, deployChecks(s), withRequests);
}
