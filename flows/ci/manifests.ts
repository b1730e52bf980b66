// The ci stage's objects, generated from typed input: pure functions, no cluster needed. Forgejo (the forge) and
// Woodpecker (server + agent with the Kubernetes backend) live in one namespace; the deploy account lives there
// too (pipeline pods run there) and gets rights only in the target namespace. Secret VALUES never come through
// here except in secretObjects(), which the run calls with values it made at run time; the plan shows names only.
import type { CiImages } from '../../src/catalog/images.ts';
import type { KubeObject } from '../../src/ports/cluster.ts';

export const RBAC_API = 'rbac.authorization.k8s.io/v1';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'boardkube' } as const;
export const FORGE_PORT_IN_POD = 3000;
export const CI_PORT_IN_POD = 8000;
/** Woodpecker's gRPC port: agents connect to the server there. */
export const CI_GRPC_PORT = 9000;

/** The Secret of the ci namespace and its keys (the env names the Woodpecker images read). */
export const CI_SECRET = 'woodpecker-secrets';
export const SECRET_KEYS = { agent: 'WOODPECKER_AGENT_SECRET', client: 'WOODPECKER_FORGEJO_CLIENT', secret: 'WOODPECKER_FORGEJO_SECRET' } as const;
/** The Secret holding the forge admin's password (the forge pod creates the admin from it). */
export const ADMIN_SECRET = 'forgejo-admin';

export interface CiSetup {
  /** Namespace of Forgejo, Woodpecker, the pipeline pods and the deploy account. */
  namespace: string;
  /** The node (kubernetes.io/hostname) whose disk holds the forge's and the CI's data. */
  dataNode: string;
  /** Folder on that node; forgejo/ and woodpecker/ below it (hostPath). */
  dataDir: string;
  forgeNodePort: number;
  ciNodePort: number;
  /** The forge as the user's browser and the pods reach it (the master's address and the forge's NodePort). */
  forgeUrl: string;
  /** Woodpecker's UI and webhook address (the master's address and its NodePort). */
  ciUrl: string;
  /** The forge user that owns the sample repository and is Woodpecker's admin. */
  adminUser: string;
  /** Where the sample app runs; the deploy account may change Deployments there and nowhere else. */
  targetNamespace: string;
  deployAccount: string;
  /** The app's name: its Deployment, container and image repository. */
  app: string;
  /** The registry stage's HOST:PORT. */
  registry: string;
  /** Empty: the cluster's default StorageClass (pipeline volumes are ReadWriteOnce either way). */
  storageClass: string;
  images: CiImages;
}

function labels(name: string): Record<string, string> {
  return { ...MANAGED_BY, 'app.kubernetes.io/name': name };
}

const onMasterToo = [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }];

function fromSecret(secret: string, key: string): Record<string, unknown> {
  return { name: key, valueFrom: { secretKeyRef: { name: secret, key } } };
}

function env(vars: Record<string, string>): Array<Record<string, unknown>> {
  return Object.entries(vars).map(([name, value]) => ({ name, value }));
}

/** One pod with its data in a folder on one node's disk: the old pod stops before the new one starts. */
function deployment(s: CiSetup, name: string, container: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  const l = labels(name);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: s.namespace, labels: l },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: l },
      template: { metadata: { labels: l }, spec: { ...extra, containers: [{ name, ...container }] } },
    },
  };
}

function nodePortService(s: CiSetup, name: string, ports: Array<{ name: string; port: number; nodePort?: number }>): KubeObject {
  const l = labels(name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: s.namespace, labels: l },
    spec: {
      type: ports.some((p) => p.nodePort) ? 'NodePort' : 'ClusterIP',
      selector: l,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
    },
  };
}

/** Forgejo's settings (FORGEJO__SECTION__KEY overrides app.ini). */
export function forgejoEnv(s: CiSetup): Record<string, string> {
  return {
    FORGEJO__database__DB_TYPE: 'sqlite3',
    FORGEJO__server__ROOT_URL: `${s.forgeUrl}/`,
    FORGEJO__server__HTTP_PORT: String(FORGE_PORT_IN_POD),
    // Pushes go over HTTP with the admin's token; no SSH port to open.
    FORGEJO__server__DISABLE_SSH: 'true',
    // Configured here, so the web installer never asks.
    FORGEJO__security__INSTALL_LOCK: 'true',
    FORGEJO__service__DISABLE_REGISTRATION: 'true',
    // Woodpecker's webhook address is a LAN address; Forgejo only calls public hosts unless told.
    FORGEJO__webhook__ALLOWED_HOST_LIST: 'private,loopback',
  };
}

export function forgejoManifests(s: CiSetup): KubeObject[] {
  const node = { nodeSelector: { 'kubernetes.io/hostname': s.dataNode }, tolerations: onMasterToo };
  return [
    deployment(
      s,
      'forgejo',
      {
        image: s.images.forgejo,
        env: env(forgejoEnv(s)),
        ports: [{ name: 'http', containerPort: FORGE_PORT_IN_POD }],
        readinessProbe: { httpGet: { path: '/api/healthz', port: FORGE_PORT_IN_POD }, periodSeconds: 5 },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      },
      { ...node, volumes: [{ name: 'data', hostPath: { path: `${s.dataDir}/forgejo`, type: 'DirectoryOrCreate' } }] },
    ),
    nodePortService(s, 'forgejo', [{ name: 'http', port: FORGE_PORT_IN_POD, nodePort: s.forgeNodePort }]),
  ];
}

/** Woodpecker server settings; the agent secret and the OAuth client come from the Secret. */
export function woodpeckerServerEnv(s: CiSetup): Record<string, string> {
  return {
    WOODPECKER_HOST: s.ciUrl,
    WOODPECKER_ADMIN: s.adminUser,
    WOODPECKER_OPEN: 'false',
    WOODPECKER_FORGEJO: 'true',
    WOODPECKER_FORGEJO_URL: s.forgeUrl,
    WOODPECKER_DATABASE_DRIVER: 'sqlite3',
    WOODPECKER_DATABASE_DATASOURCE: '/var/lib/woodpecker/woodpecker.sqlite',
  };
}

/** Woodpecker agent settings: every pipeline step a pod in the ci namespace, volumes ReadWriteOnce. */
export function woodpeckerAgentEnv(s: CiSetup): Record<string, string> {
  return {
    WOODPECKER_SERVER: `woodpecker-server.${s.namespace}.svc:${CI_GRPC_PORT}`,
    WOODPECKER_BACKEND: 'kubernetes',
    WOODPECKER_BACKEND_K8S_NAMESPACE: s.namespace,
    // Local storage on boards is ReadWriteOnce; RWX would leave every pipeline pending.
    WOODPECKER_BACKEND_K8S_STORAGE_RWX: 'false',
    WOODPECKER_BACKEND_K8S_STORAGE_CLASS: s.storageClass,
    WOODPECKER_BACKEND_K8S_VOLUME_SIZE: '1G',
    WOODPECKER_MAX_WORKFLOWS: '1',
  };
}

export const AGENT_ACCOUNT = 'woodpecker-agent';

export function woodpeckerManifests(s: CiSetup): KubeObject[] {
  const node = { nodeSelector: { 'kubernetes.io/hostname': s.dataNode }, tolerations: onMasterToo };
  const agentLabels = labels(AGENT_ACCOUNT);
  return [
    deployment(
      s,
      'woodpecker-server',
      {
        image: s.images.woodpeckerServer,
        env: [...env(woodpeckerServerEnv(s)), fromSecret(CI_SECRET, SECRET_KEYS.agent), fromSecret(CI_SECRET, SECRET_KEYS.client), fromSecret(CI_SECRET, SECRET_KEYS.secret)],
        ports: [
          { name: 'http', containerPort: CI_PORT_IN_POD },
          { name: 'grpc', containerPort: CI_GRPC_PORT },
        ],
        readinessProbe: { httpGet: { path: '/healthz', port: CI_PORT_IN_POD }, periodSeconds: 5 },
        volumeMounts: [{ name: 'data', mountPath: '/var/lib/woodpecker' }],
      },
      { ...node, volumes: [{ name: 'data', hostPath: { path: `${s.dataDir}/woodpecker`, type: 'DirectoryOrCreate' } }] },
    ),
    nodePortService(s, 'woodpecker-server', [
      { name: 'http', port: CI_PORT_IN_POD, nodePort: s.ciNodePort },
      { name: 'grpc', port: CI_GRPC_PORT },
    ]),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: AGENT_ACCOUNT, namespace: s.namespace, labels: agentLabels } },
    {
      // The agent starts every step as a pod (with a volume and a service) in its own namespace, nowhere else.
      apiVersion: RBAC_API,
      kind: 'Role',
      metadata: { name: AGENT_ACCOUNT, namespace: s.namespace, labels: agentLabels },
      rules: [
        { apiGroups: [''], resources: ['pods', 'persistentvolumeclaims', 'services', 'secrets'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      ],
    },
    {
      apiVersion: RBAC_API,
      kind: 'RoleBinding',
      metadata: { name: AGENT_ACCOUNT, namespace: s.namespace, labels: agentLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: AGENT_ACCOUNT },
      subjects: [{ kind: 'ServiceAccount', name: AGENT_ACCOUNT, namespace: s.namespace }],
    },
    deployment(
      s,
      'woodpecker-agent',
      { image: s.images.woodpeckerAgent, env: [...env(woodpeckerAgentEnv(s)), fromSecret(CI_SECRET, SECRET_KEYS.agent)] },
      { serviceAccountName: AGENT_ACCOUNT },
    ),
  ];
}

/** The verbs the deploy account has on Deployments: read one, change its image, wait for the rollout. */
export const DEPLOY_VERBS = ['get', 'list', 'watch', 'patch', 'update'] as const;

/** The deploy account (in the ci namespace, where the pipeline's deploy step runs) and its rights in the target. */
export function deployAccountManifests(s: CiSetup): KubeObject[] {
  const l = labels(s.deployAccount);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: s.deployAccount, namespace: s.namespace, labels: l } },
    {
      apiVersion: RBAC_API,
      kind: 'Role',
      metadata: { name: s.deployAccount, namespace: s.targetNamespace, labels: l },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: [...DEPLOY_VERBS] }],
    },
    {
      apiVersion: RBAC_API,
      kind: 'RoleBinding',
      metadata: { name: s.deployAccount, namespace: s.targetNamespace, labels: l },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: s.deployAccount },
      subjects: [{ kind: 'ServiceAccount', name: s.deployAccount, namespace: s.namespace }],
    },
  ];
}

/** The sample app's Deployment and Service in the target namespace, first with a placeholder image until CI rolls it. */
export function appManifests(s: CiSetup, image: string, pullSecret: string): KubeObject[] {
  const l = labels(s.app);
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: s.app, namespace: s.targetNamespace, labels: l },
      spec: {
        replicas: 1,
        selector: { matchLabels: l },
        template: {
          metadata: { labels: l },
          spec: {
            imagePullSecrets: [{ name: pullSecret }],
            containers: [{ name: s.app, image, ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 5 } }],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: s.app, namespace: s.targetNamespace, labels: l }, spec: { selector: l, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  ];
}

/** Every object the stage applies with no secret in it, in order. */
export function ciManifests(s: CiSetup): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.namespace, labels: MANAGED_BY } },
    ...forgejoManifests(s),
    ...woodpeckerManifests(s),
    // The target namespace is the stage's own (one that exists with other owners is refused before this).
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.targetNamespace, labels: MANAGED_BY } },
    ...deployAccountManifests(s),
  ];
}

export interface CiSecretValues {
  adminPassword: string;
  agentSecret: string;
  oauthClient: string;
  oauthSecret: string;
}

/** The Secrets, built from values made at run time (never shown in the plan, never saved). */
export function secretObjects(s: CiSetup, v: CiSecretValues): KubeObject[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: CI_SECRET, namespace: s.namespace, labels: MANAGED_BY },
      stringData: { [SECRET_KEYS.agent]: v.agentSecret, [SECRET_KEYS.client]: v.oauthClient, [SECRET_KEYS.secret]: v.oauthSecret },
    },
    { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: ADMIN_SECRET, namespace: s.namespace, labels: MANAGED_BY }, stringData: { user: s.adminUser, password: v.adminPassword } },
  ];
}

export const ADMIN_JOB = 'forgejo-admin';

/**
 * A Job on the forge's node, with the forge's image and data folder, that creates (or resets) the admin from the
 * admin Secret. `script` is forge.ts's adminScript(). Its name carries a run number: a Job's pod template cannot
 * change, so every run makes a new one, and removes the ones before it (the last one stays, with its log).
 */
export function adminJob(s: CiSetup, script: string, run: number): KubeObject {
  const l = labels(ADMIN_JOB);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${ADMIN_JOB}-${run}`, namespace: s.namespace, labels: l },
    spec: {
      backoffLimit: 3,
      template: {
        metadata: { labels: l },
        spec: {
          restartPolicy: 'Never',
          nodeSelector: { 'kubernetes.io/hostname': s.dataNode },
          tolerations: onMasterToo,
          // The forge image runs as user git (1000) and keeps app.ini and the sqlite file under /data.
          securityContext: { runAsUser: 1000, runAsGroup: 1000 },
          containers: [
            {
              name: 'admin',
              image: s.images.forgejo,
              command: ['sh', '-c', script],
              env: [
                // Where the forge image keeps app.ini (conf/app.ini below it), written by the forge pod at its start.
                ...env({ GITEA_WORK_DIR: '/data/gitea', GITEA_CUSTOM: '/data/gitea' }),
                { name: 'ADMIN_USER', valueFrom: { secretKeyRef: { name: ADMIN_SECRET, key: 'user' } } },
                { name: 'ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: ADMIN_SECRET, key: 'password' } } },
              ],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', hostPath: { path: `${s.dataDir}/forgejo`, type: 'Directory' } }],
        },
      },
    },
  };
}

/** Why an existing namespace may not be taken over (it is someone else's), or undefined when it is ours or absent. */
export function foreignNamespace(ns: KubeObject | null): string | undefined {
  if (!ns) return undefined;
  const labels = (ns.metadata.labels ?? {}) as Record<string, string>;
  if (labels['app.kubernetes.io/managed-by'] === 'boardkube') return undefined;
  return `namespace ${ns.metadata.name} exists and is not boardkube's (no label app.kubernetes.io/managed-by=boardkube): its owners' Deployments would be the deploy account's to change`;
}
