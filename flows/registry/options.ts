// The registry stage's options: where the registry listens, which disk holds its images, where the generated
// password goes, and which namespaces get a pull Secret.
import * as path from 'node:path';
import { controlPlaneNode, type ClusterSpec, type NodeSpec } from '../../src/cluster/spec.ts';
import { InputError, type StageOption, type StageWhere } from '../../src/engine/types.ts';
import { expandHome } from '../../src/util/paths.ts';
import { checkDnsLabel } from '../readonly/options.ts';

export interface RegistryOptions {
  /** The NodePort (30000-32767) every runtime reaches the registry at. */
  port: number;
  /** The node address image references name (a NodePort answers on every node's address; default: the master's). */
  address: string;
  /** HOST:PORT as image references name it: the address and the port. */
  hostPort: string;
  storageNode: NodeSpec;
  namespace: string;
  /** Absolute path of the 0600 file that holds the registry password. */
  passwordFile: string;
  user: string;
  pullNamespaces: string[];
  /** kubeadm's certificatesDir on the master. */
  pkiDir: string;
}

export const DEFAULTS = { port: '30500', namespace: 'boardkube-registry', user: 'boardkube', 'pull-namespaces': 'default' } as const;

export const REGISTRY_OPTIONS: StageOption[] = [
  { name: 'port', description: 'NodePort of the registry on the master, 30000-32767; images are named ADDRESS:PORT/name:tag', default: DEFAULTS.port },
  { name: 'address', description: "The node address images are named by (ADDRESS:PORT/name:tag); a NodePort answers on every node's address", default: "the master's address" },
  { name: 'storage-node', description: 'The node whose disk holds the images (default: the master)' },
  { name: 'namespace', description: 'Namespace of the registry', default: DEFAULTS.namespace },
  { name: 'password-file', description: 'Where the generated registry password is written (mode 0600; an existing file is never overwritten)', default: 'STATE_DIR/CLUSTER/registry.password' },
  { name: 'user', description: 'The registry user', default: DEFAULTS.user },
  { name: 'pull-namespaces', description: 'Namespaces that get a pull Secret for the registry, comma-separated', default: DEFAULTS['pull-namespaces'] },
];

export function parseRegistryOptions(raw: Record<string, unknown>, cluster: ClusterSpec, where: StageWhere = {}): RegistryOptions {
  const text = (name: string, fallback: string) => (typeof raw[name] === 'string' && raw[name] !== '' ? (raw[name] as string) : fallback);
  const portText = text('port', DEFAULTS.port);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 30000 || port > 32767) {
    throw new InputError('port', `"${portText}" is not a NodePort`, 'use a port from 30000 to 32767 (the cluster\'s NodePort range), e.g. --set port=30500');
  }
  const master = controlPlaneNode(cluster);
  const address = text('address', master.address);
  if (!cluster.nodes.some((n) => n.address === address)) {
    throw new InputError('address', `"${address}" is not the address of a node in the cluster file (a NodePort answers only on the nodes' addresses)`, `use one of: ${cluster.nodes.map((n) => `${n.address} (${n.name})`).join(', ')}, e.g. --set address=${master.address}`);
  }
  const nodeName = text('storage-node', master.name);
  const storageNode = cluster.nodes.find((n) => n.name === nodeName);
  if (!storageNode) throw new InputError('storage-node', `no node "${nodeName}" in the cluster file`, `use one of: ${cluster.nodes.map((n) => n.name).join(', ')}`);
  const namespace = text('namespace', DEFAULTS.namespace);
  checkDnsLabel('namespace', namespace, 'namespace name');
  const user = text('user', DEFAULTS.user);
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(user)) throw new InputError('user', `"${user}" is not a simple user name`, 'use lower-case letters, digits, "-" or "_", e.g. --set user=boardkube');
  const pullNamespaces = text('pull-namespaces', DEFAULTS['pull-namespaces']).split(',').map((s) => s.trim()).filter(Boolean);
  for (const ns of pullNamespaces) checkDnsLabel('pull-namespaces', ns, 'namespace name');
  // Beside the progress by default, never into the current folder.
  const passwordFile = path.resolve(expandHome(text('password-file', path.join(where.stateDir ?? '.', cluster.name, 'registry.password'))));
  return { port, address, hostPort: `${address}:${port}`, storageNode, namespace, passwordFile, user, pullNamespaces, pkiDir: '/etc/kubernetes/pki' };
}

/** An image in the registry, named the way every node's runtime trusts it. */
export function imageRef(o: Pick<RegistryOptions, 'hostPort'>, name: string, tag: string): string {
  return `${o.hostPort}/${name}:${tag}`;
}
