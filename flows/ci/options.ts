// The ci stage's options (--set name=value): where the forge and the CI listen, which node's disk holds their
// data, the namespaces, the deploy account, and where the admin password goes. ciSetup() turns them, the
// cluster and the registry stage's HOST:PORT into the generators' typed input.
import * as path from 'node:path';
import { ciImages } from '../../src/catalog/images.ts';
import type { KubernetesRelease } from '../../src/catalog/versions.ts';
import { controlPlaneNode, type ClusterSpec } from '../../src/cluster/spec.ts';
import { InputError, type StageOption, type StageWhere } from '../../src/engine/types.ts';
import { expandHome } from '../../src/util/paths.ts';
import { checkDnsLabel } from '../readonly/options.ts';
import type { CiSetup } from './manifests.ts';

export interface CiOptions {
  namespace: string;
  targetNamespace: string;
  deployAccount: string;
  app: string;
  dataNode: string;
  forgePort: number;
  ciPort: number;
  adminUser: string;
  /** Absolute path of the 0600 file that gets the forge admin's password. */
  adminPasswordFile: string;
  storageClass: string;
  /** An existing forge (Forgejo or Gitea) instead of one in the cluster: its URL; empty: Forgejo in the cluster. */
  forgeUrl: string;
}

export const DEFAULTS = {
  namespace: 'boardkube-ci',
  'target-namespace': 'boardkube-app',
  'deploy-account': 'deployer',
  app: 'app',
  'forge-port': '30300',
  'ci-port': '30800',
  'admin-user': 'boardkube',
} as const;

export const CI_OPTIONS: StageOption[] = [
  { name: 'namespace', description: 'Namespace of Forgejo, Woodpecker and the pipeline pods', default: DEFAULTS.namespace },
  { name: 'target-namespace', description: 'Where the sample app runs; the deploy account may change Deployments there only', default: DEFAULTS['target-namespace'] },
  { name: 'deploy-account', description: 'The ServiceAccount the pipeline deploys with', default: DEFAULTS['deploy-account'] },
  { name: 'app', description: 'Name of the sample app (repository, image and Deployment)', default: DEFAULTS.app },
  { name: 'storage-node', description: "The node whose disk holds the forge's and the CI's data (default: the master)" },
  { name: 'forge-port', description: 'NodePort of the forge (Forgejo) on the master, 30000-32767', default: DEFAULTS['forge-port'] },
  { name: 'ci-port', description: 'NodePort of the CI (Woodpecker) on the master, 30000-32767', default: DEFAULTS['ci-port'] },
  { name: 'admin-user', description: "The forge's admin (owns the sample repository, Woodpecker's admin)", default: DEFAULTS['admin-user'] },
  { name: 'admin-password-file', description: "Where the forge admin's generated password is written (mode 0600; an existing file is never overwritten)", default: 'STATE_DIR/CLUSTER-forge-admin.password' },
  { name: 'storage-class', description: "StorageClass of the pipelines' volumes (ReadWriteOnce); empty: the cluster's default" },
  {
    name: 'forge-url',
    description: 'An existing forge (Forgejo or Gitea, e.g. http://git.home.lan:3000) instead of Forgejo in the cluster; admin-user is its admin and admin-password-file your 0600 file with the password',
  },
];

const KNOWN = new Set([...CI_OPTIONS.map((o) => o.name), 'stateDir']);

function nodePort(field: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 30000 || port > 32767) throw new InputError(field, `"${text}" is not a NodePort`, `use a port from 30000 to 32767, e.g. --set ${field}=${DEFAULTS[field as 'forge-port']}`);
  return port;
}

export function parseCiOptions(raw: Record<string, unknown>, cluster: ClusterSpec, where: StageWhere = {}): CiOptions {
  for (const k of Object.keys(raw)) {
    if (!KNOWN.has(k)) throw new InputError(k, 'is not an option of the ci stage', `use one of: ${CI_OPTIONS.map((o) => o.name).join(', ')}`);
  }
  const text = (name: string, fallback: string) => (typeof raw[name] === 'string' && raw[name] !== '' ? (raw[name] as string) : fallback);
  const o: CiOptions = {
    namespace: text('namespace', DEFAULTS.namespace),
    targetNamespace: text('target-namespace', DEFAULTS['target-namespace']),
    deployAccount: text('deploy-account', DEFAULTS['deploy-account']),
    app: text('app', DEFAULTS.app),
    dataNode: text('storage-node', controlPlaneNode(cluster).name),
    forgePort: nodePort('forge-port', text('forge-port', DEFAULTS['forge-port'])),
    ciPort: nodePort('ci-port', text('ci-port', DEFAULTS['ci-port'])),
    adminUser: text('admin-user', DEFAULTS['admin-user']),
    adminPasswordFile: '',
    storageClass: text('storage-class', ''),
    forgeUrl: text('forge-url', '').replace(/\/+$/, ''),
  };
  if (o.forgeUrl) {
    let u: URL | undefined;
    try {
      u = new URL(o.forgeUrl);
    } catch {
      u = undefined;
    }
    if (!u || !/^https?:$/.test(u.protocol) || u.pathname !== '/' || u.search) throw new InputError('forge-url', `"${o.forgeUrl}" is not a forge address`, 'give the address the forge answers at, e.g. --set forge-url=http://git.home.lan:3000');
    if (typeof raw['admin-password-file'] !== 'string' || raw['admin-password-file'] === '') {
      throw new InputError('admin-password-file', 'an existing forge needs the password of its admin', 'write it to a file only you can read (chmod 600) and name it with --set admin-password-file=PATH');
    }
  }
  checkDnsLabel('namespace', o.namespace, 'namespace name');
  checkDnsLabel('target-namespace', o.targetNamespace, 'namespace name');
  checkDnsLabel('deploy-account', o.deployAccount, 'service account name');
  checkDnsLabel('app', o.app, 'app name');
  if (o.storageClass) checkDnsLabel('storage-class', o.storageClass, 'StorageClass name');
  if (o.targetNamespace === o.namespace) throw new InputError('target-namespace', `is the CI's own namespace (${o.namespace})`, 'deploy to a namespace of its own, e.g. --set target-namespace=boardkube-app');
  if (['kube-system', 'kube-public', 'kube-node-lease', 'default'].includes(o.targetNamespace)) {
    throw new InputError('target-namespace', `"${o.targetNamespace}" is not a namespace the deploy account should own`, 'use a namespace of its own, e.g. --set target-namespace=boardkube-app');
  }
  if (o.forgePort === o.ciPort) throw new InputError('ci-port', `is the forge's port too (${o.forgePort})`, 'give the CI its own NodePort, e.g. --set ci-port=30800');
  if (!cluster.nodes.some((n) => n.name === o.dataNode)) throw new InputError('storage-node', `no node "${o.dataNode}" in the cluster file`, `use one of: ${cluster.nodes.map((n) => n.name).join(', ')}`);
  // Forge user names: letters, digits, "-", "_" and "."; "admin" is reserved by Forgejo.
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,38}$/.test(o.adminUser) || o.adminUser.toLowerCase() === 'admin') {
    throw new InputError('admin-user', `"${o.adminUser}" cannot be a forge user name`, 'use letters, digits, "-", "_" or "." (not "admin"), e.g. --set admin-user=boardkube');
  }
  const stateDir = where.stateDir ?? (typeof raw.stateDir === 'string' ? raw.stateDir : '.');
  o.adminPasswordFile = path.resolve(expandHome(text('admin-password-file', path.join(stateDir, `${cluster.name}-forge-admin.password`))));
  return o;
}

/** The generators' input: options, the master's address for the NodePorts, and the registry's HOST:PORT. */
export function ciSetup(o: CiOptions, cluster: ClusterSpec, release: Pick<KubernetesRelease, 'patch'>, registry: string): CiSetup {
  const master = controlPlaneNode(cluster).address;
  return {
    namespace: o.namespace,
    dataNode: o.dataNode,
    dataDir: '/var/lib/boardkube/ci',
    forgeNodePort: o.forgePort,
    ciNodePort: o.ciPort,
    forgeUrl: o.forgeUrl || `http://${master}:${o.forgePort}`,
    ciUrl: `http://${master}:${o.ciPort}`,
    adminUser: o.adminUser,
    targetNamespace: o.targetNamespace,
    deployAccount: o.deployAccount,
    app: o.app,
    registry,
    storageClass: o.storageClass,
    images: ciImages(release),
  };
}
