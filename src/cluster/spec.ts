// The cluster file (cluster.yaml): what a trainer prepares and what the inventory screen writes.
import { DEFAULT_BOARD } from '../boards/index.ts';
import type { ContainerRuntime } from '../catalog/runtimes.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../catalog/versions.ts';

export const API_VERSION = 'boardkube.dev/v1alpha1';
export const KIND = 'Cluster';

export type NodeRole = 'control-plane' | 'worker';

export interface NodeSpec {
  name: string;
  role: NodeRole;
  address: string;
  /** kubeadm escape hatches for this board only (added to the cluster-wide ones). */
  kubeadm?: KubeadmOverrides;
}

/** kubeadm's own escape hatches, for a board or for all (cluster file: kubernetes.kubeadm, nodes[i].kubeadm). */
export interface KubeadmOverrides {
  /** Preflight checks kubeadm may fail without stopping (kubeadm --ignore-preflight-errors). */
  ignorePreflightErrors?: string[];
  /** A folder on this computer with kubeadm patches (kubeadm --patches), absolute once validated. */
  patches?: string;
}

export type PodNetworkBackend = 'vxlan' | 'host-gw';
export type ProxyMode = 'iptables' | 'nftables';

/** How kubeadm builds the cluster (cluster file: kubernetes.*). Every field has a default. */
export interface KubernetesSettings {
  /** Container runtime on every board. Default cri-o. */
  runtime?: ContainerRuntime;
  /** DNS name or address (optionally :port) the API server is reached at; default: the master's address. */
  controlPlaneEndpoint?: string;
  /** Flannel backend: vxlan works everywhere, host-gw is faster on one flat LAN. Default vxlan. */
  podNetwork?: PodNetworkBackend;
  /** kube-proxy mode. Default iptables. */
  proxyMode?: ProxyMode;
  kubeadm?: KubeadmOverrides;
}

export interface ClusterSpec {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  name: string;
  board: string;
  kubernetesVersion: string;
  network: {
    /** The boards' LAN, e.g. 192.168.1.0/24. */
    lan: string;
    gateway: string;
    dns: string[];
    podSubnet: string;
    serviceSubnet: string;
  };
  ssh: {
    user: string;
    /** Private key; the public key is KEY.pub beside it. */
    keyPath: string;
    port: number;
  };
  timezone: string;
  nodes: NodeSpec[];
  kubernetes?: KubernetesSettings;
}

/** What a field of the cluster file holds; nested mappings and lists of mappings name their own fields. */
export type FieldKind = 'string' | 'number' | 'boolean' | 'string-list' | { map: FieldTree } | { list: FieldTree };
export type FieldTree = Record<string, FieldKind>;

/** The field tree of a type: TypeScript insists that every field of ClusterSpec (and no other) is listed below. */
type Fields<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends string
    ? 'string'
    : NonNullable<T[K]> extends number
      ? 'number'
      : NonNullable<T[K]> extends boolean
        ? 'boolean'
        : NonNullable<T[K]> extends string[]
          ? 'string-list'
          : NonNullable<T[K]> extends Array<infer E>
            ? { list: Fields<E> }
            : { map: Fields<NonNullable<T[K]>> };
};

/**
 * Every field a cluster file may hold. Any other name (a typo such as `timezon:`) is an error, never ignored.
 * A new field: add it to ClusterSpec above and here (the compiler asks for it), then check its value in validate.ts.
 */
export const CLUSTER_FIELDS: Fields<ClusterSpec> = {
  apiVersion: 'string',
  kind: 'string',
  name: 'string',
  board: 'string',
  kubernetesVersion: 'string',
  network: { map: { lan: 'string', gateway: 'string', dns: 'string-list', podSubnet: 'string', serviceSubnet: 'string' } },
  ssh: { map: { user: 'string', keyPath: 'string', port: 'number' } },
  timezone: 'string',
  nodes: { list: { name: 'string', role: 'string', address: 'string', kubeadm: { map: { ignorePreflightErrors: 'string-list', patches: 'string' } } } },
  kubernetes: {
    map: {
      runtime: 'string',
      controlPlaneEndpoint: 'string',
      podNetwork: 'string',
      proxyMode: 'string',
      kubeadm: { map: { ignorePreflightErrors: 'string-list', patches: 'string' } },
    },
  },
};

export function controlPlaneNode(spec: ClusterSpec): NodeSpec {
  const node = spec.nodes.find((n) => n.role === 'control-plane');
  if (!node) throw new Error('the cluster file has no control-plane node');
  return node;
}

export function workerNodes(spec: ClusterSpec): NodeSpec[] {
  return spec.nodes.filter((n) => n.role === 'worker');
}

/** The default cluster: one ODROID-N2 master and four workers, as in the seed article. */
export function defaultCluster(keyPath = '~/.ssh/id_ed25519'): ClusterSpec {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: 'homelab',
    board: DEFAULT_BOARD.id,
    kubernetesVersion: DEFAULT_KUBERNETES_VERSION,
    network: {
      lan: '192.168.1.0/24',
      gateway: '192.168.1.1',
      dns: ['192.168.1.1'],
      podSubnet: '10.244.0.0/16',
      serviceSubnet: '10.96.0.0/12',
    },
    ssh: { user: 'root', keyPath, port: 22 },
    timezone: 'Europe/Berlin',
    nodes: [
      { name: 'n2-master', role: 'control-plane', address: '192.168.1.40' },
      { name: 'n2-worker1', role: 'worker', address: '192.168.1.41' },
      { name: 'n2-worker2', role: 'worker', address: '192.168.1.42' },
      { name: 'n2-worker3', role: 'worker', address: '192.168.1.43' },
      { name: 'n2-worker4', role: 'worker', address: '192.168.1.44' },
    ],
  };
}
