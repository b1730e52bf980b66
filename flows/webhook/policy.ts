// Mode policy: a MutatingAdmissionPolicy and its binding. The API server itself adds
// spec.ttlSecondsAfterFinished to every Job created without one, outside kube-system. No pod, no certificate.
import type { KubeObject } from '../../src/ports/cluster.ts';

export const POLICY_NAME = 'boardkube-job-ttl';
export const MANAGED = { 'app.kubernetes.io/managed-by': 'boardkube', 'app.kubernetes.io/part-of': 'boardkube-webhook' };
/** Namespaces whose Jobs are never touched (the control plane's own). */
export const EXCLUDED_NAMESPACES = ['kube-system'];

export const NOT_EXCLUDED = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: EXCLUDED_NAMESPACES }] };

export function policyManifests(apiVersion: string, ttlSeconds: number): KubeObject[] {
  return [
    {
      apiVersion,
      kind: 'MutatingAdmissionPolicy',
      metadata: { name: POLICY_NAME, labels: MANAGED },
      spec: {
        matchConstraints: {
          resourceRules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] }],
          namespaceSelector: NOT_EXCLUDED,
        },
        // Never overwrite a TTL the Job's author set.
        matchConditions: [{ name: 'no-ttl-set', expression: '!has(object.spec.ttlSecondsAfterFinished)' }],
        // A broken policy must not stop Jobs from being created.
        failurePolicy: 'Ignore',
        reinvocationPolicy: 'Never',
        mutations: [
          {
            patchType: 'ApplyConfiguration',
            applyConfiguration: { expression: `Object{spec: Object.spec{ttlSecondsAfterFinished: ${ttlSeconds}}}` },
          },
        ],
      },
    },
    {
      apiVersion,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name: POLICY_NAME, labels: MANAGED },
      spec: { policyName: POLICY_NAME },
    },
  ];
}
