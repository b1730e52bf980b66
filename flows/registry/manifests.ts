// The registry's objects, generated from typed input: pure functions, no cluster needed. The two Secrets (TLS key,
// htpasswd) are built from values only at run time; the plan shows them with placeholders.
import { stringify } from 'yaml';
import type { KubeObject } from '../../src/ports/cluster.ts';

export const REGISTRY_PORT_IN_POD = 5000;
export const LABELS = { managedBy: 'app.kubernetes.io/managed-by', name: 'app.kubernetes.io/name' } as const;
const labels = { [LABELS.managedBy]: 'boardkube', [LABELS.name]: 'registry' };

export interface RegistryDeployment {
  namespace: string;
  /** Node name (kubernetes.io/hostname) whose disk holds the images. */
  storageNode: string;
  /** Folder on that node (hostPath). */
  dataDir: string;
  /** The NodePort every runtime reaches the registry at, on the master's address. */
  nodePort: number;
  image: string;
}

/** The registry's settings as environment variables (distribution's REGISTRY_* overrides of config.yml). */
export function registryEnv(paths: { certDir: string; authDir: string; dataDir: string }): Record<string, string> {
  return {
    REGISTRY_HTTP_ADDR: `:${REGISTRY_PORT_IN_POD}`,
    REGISTRY_HTTP_TLS_CERTIFICATE: `${paths.certDir}/tls.crt`,
    REGISTRY_HTTP_TLS_KEY: `${paths.certDir}/tls.key`,
    REGISTRY_AUTH: 'htpasswd',
    REGISTRY_AUTH_HTPASSWD_REALM: 'boardkube registry',
    REGISTRY_AUTH_HTPASSWD_PATH: `${paths.authDir}/htpasswd`,
    // Deleting manifests lets `registry garbage-collect` free the card's space.
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: paths.dataDir,
  };
}

export const POD_PATHS = { certDir: '/etc/distribution/certs', authDir: '/etc/distribution/auth', dataDir: '/var/lib/registry' } as const;
export const TLS_SECRET = 'registry-tls';
export const AUTH_SECRET = 'registry-htpasswd';
export const PULL_SECRET = 'boardkube-registry';

export function registryManifests(d: RegistryDeployment): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: d.namespace, labels } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'registry', namespace: d.namespace, labels },
      spec: {
        replicas: 1,
        // One pod owns the folder on the node's disk: the old one stops before the new one starts.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { 'kubernetes.io/hostname': d.storageNode },
            // The storage node may be the master, which takes no ordinary pods.
            tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
            containers: [
              {
                name: 'registry',
                image: d.image,
                ports: [{ name: 'registry', containerPort: REGISTRY_PORT_IN_POD }],
                env: Object.entries(registryEnv(POD_PATHS)).map(([name, value]) => ({ name, value })),
                readinessProbe: { tcpSocket: { port: REGISTRY_PORT_IN_POD }, periodSeconds: 5 },
                volumeMounts: [
                  { name: 'data', mountPath: POD_PATHS.dataDir },
                  { name: 'tls', mountPath: POD_PATHS.certDir, readOnly: true },
                  { name: 'auth', mountPath: POD_PATHS.authDir, readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'data', hostPath: { path: d.dataDir, type: 'DirectoryOrCreate' } },
              { name: 'tls', secret: { secretName: TLS_SECRET, defaultMode: 0o400 } },
              { name: 'auth', secret: { secretName: AUTH_SECRET, defaultMode: 0o400 } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'registry', namespace: d.namespace, labels },
      spec: { type: 'NodePort', selector: labels, ports: [{ name: 'registry', port: REGISTRY_PORT_IN_POD, targetPort: REGISTRY_PORT_IN_POD, nodePort: d.nodePort }] },
    },
  ];
}

export function tlsSecret(namespace: string, certPem: string, keyPem: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: TLS_SECRET, namespace, labels }, stringData: { 'tls.crt': certPem, 'tls.key': keyPem } };
}

export function htpasswdSecret(namespace: string, htpasswdLine: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: AUTH_SECRET, namespace, labels }, stringData: { htpasswd: `${htpasswdLine}\n` } };
}

/** A pull Secret for pods in `namespace` that run images from the registry. */
export function pullSecret(namespace: string, hostPort: string, user: string, password: string): KubeObject {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name: PULL_SECRET, namespace, labels },
    stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [hostPort]: { auth } } }) },
  };
}

export function toYaml(objects: readonly KubeObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
