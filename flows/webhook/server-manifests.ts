// Mode webhook: the objects that run the seed's webhook in the cluster — a namespace, the server's source in
// a ConfigMap, a Deployment of the stock node image, a Service, and the MutatingWebhookConfiguration that
// makes the API server call it (caBundle: the CA that signed the serving certificate).
import { createHash } from 'node:crypto';
import { IMAGES } from '../../src/catalog/images.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';
import { EXCLUDED_NAMESPACES, MANAGED, NOT_EXCLUDED, POLICY_NAME } from './policy.ts';
import { SERVER_FILE } from './server-script.ts';

export const WEBHOOK_NAMESPACE = 'boardkube-webhook';
export const SERVER_NAME = 'job-ttl-webhook';
export const TLS_SECRET = 'job-ttl-webhook-tls';
export const SERVER_PORT = 8443;
/** The name of the webhook inside its configuration (a qualified name, as the API requires). */
export const WEBHOOK_NAME = 'job-ttl.boardkube.dev';

/** The DNS names the API server uses to reach the Service (the serving certificate's SANs). */
export function serviceDnsNames(): string[] {
  const s = `${SERVER_NAME}.${WEBHOOK_NAMESPACE}`;
  return [SERVER_NAME, s, `${s}.svc`, `${s}.svc.cluster.local`];
}

export function webhookNamespace(): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WEBHOOK_NAMESPACE, labels: { ...MANAGED, 'pod-security.kubernetes.io/enforce': 'restricted' } } };
}

export function serverManifests(script: string, ttlSeconds: number): KubeObject[] {
  const labels = { ...MANAGED, 'app.kubernetes.io/name': SERVER_NAME };
  const scriptHash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  return [
    webhookNamespace(),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: SERVER_NAME, namespace: WEBHOOK_NAMESPACE, labels },
      data: { [SERVER_FILE]: script },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: SERVER_NAME, namespace: WEBHOOK_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': SERVER_NAME } },
        template: {
          // A changed script rolls the pod; a renewed certificate is read again by the server itself.
          metadata: { labels, annotations: { 'boardkube.dev/script-sha256': scriptHash } },
          spec: {
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'webhook',
                image: IMAGES.webhookServer,
                command: ['node', `/app/${SERVER_FILE}`],
                env: [
                  { name: 'DEFAULT_TTL_SECONDS', value: String(ttlSeconds) },
                  { name: 'PORT', value: String(SERVER_PORT) },
                  { name: 'TLS_CERT_FILE', value: '/tls/tls.crt' },
                  { name: 'TLS_KEY_FILE', value: '/tls/tls.key' },
                  { name: 'EXCLUDED_NAMESPACES', value: EXCLUDED_NAMESPACES.join(',') },
                ],
                ports: [{ name: 'https', containerPort: SERVER_PORT }],
                readinessProbe: { httpGet: { scheme: 'HTTPS', path: '/healthz', port: SERVER_PORT }, periodSeconds: 5 },
                livenessProbe: { httpGet: { scheme: 'HTTPS', path: '/healthz', port: SERVER_PORT }, periodSeconds: 20 },
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '96Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'app', mountPath: '/app', readOnly: true },
                  { name: 'tls', mountPath: '/tls', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'app', configMap: { name: SERVER_NAME } },
              { name: 'tls', secret: { secretName: TLS_SECRET } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVER_NAME, namespace: WEBHOOK_NAMESPACE, labels },
      spec: { selector: { 'app.kubernetes.io/name': SERVER_NAME }, ports: [{ name: 'https', port: 443, targetPort: SERVER_PORT }] },
    },
  ];
}

/** How the API server reaches the webhook: its Service in the cluster, or a URL (tests: a server on loopback). */
export type WebhookClient = { service: true } | { url: string };

export function webhookConfiguration(caPem: string, client: WebhookClient = { service: true }): KubeObject {
  const clientConfig =
    'url' in client
      ? { url: client.url, caBundle: Buffer.from(caPem).toString('base64') }
      : { service: { namespace: WEBHOOK_NAMESPACE, name: SERVER_NAME, path: '/mutate', port: 443 }, caBundle: Buffer.from(caPem).toString('base64') };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: POLICY_NAME, labels: MANAGED },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        clientConfig,
        rules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'], scope: 'Namespaced' }],
        namespaceSelector: NOT_EXCLUDED,
        // A defaulting webhook must never block the cluster: when it is down, Jobs are created without the default.
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
        matchPolicy: 'Equivalent',
        reinvocationPolicy: 'Never',
      },
    ],
  };
}
