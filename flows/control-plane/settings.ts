// What the cluster file says about kubeadm, with its defaults filled in, and where boardkube keeps its kubeadm
// files on a board. Shared by the control-plane and workers stages and the board reset.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RUNTIME, RUNTIMES, type RuntimeInfo } from '../../src/catalog/runtimes.ts';
import type { KubernetesRelease } from '../../src/catalog/versions.ts';
import { controlPlaneNode, type ClusterSpec, type NodeSpec, type PodNetworkBackend, type ProxyMode } from '../../src/cluster/spec.ts';
import { parseEndpoint } from '../../src/cluster/validate-kubernetes.ts';
import { API_PORT, initConfig, type FeatureGateSetting, type NodeRegistrationInput } from './kubeadm-config.ts';

/** boardkube's kubeadm files on a board (outside /etc/kubernetes, which kubeadm reset removes). */
export const BOARD_DIR = '/var/lib/boardkube/kubeadm';
export const INIT_CONFIG_PATH = `${BOARD_DIR}/init.yaml`;
export const JOIN_CONFIG_PATH = `${BOARD_DIR}/join.yaml`;
export const BOARD_PATCHES_DIR = `${BOARD_DIR}/patches`;
/** What kubeadm init leaves on the master: the admin's kubeconfig. */
export const ADMIN_CONF = '/etc/kubernetes/admin.conf';
/** What kubeadm join leaves on a worker: the kubelet's kubeconfig. */
export const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';

export function runtimeOf(cluster: ClusterSpec): RuntimeInfo {
  return RUNTIMES[cluster.kubernetes?.runtime ?? DEFAULT_RUNTIME];
}

export function podNetworkOf(cluster: ClusterSpec): PodNetworkBackend {
  return cluster.kubernetes?.podNetwork ?? 'vxlan';
}

export function proxyModeOf(cluster: ClusterSpec): ProxyMode {
  return cluster.kubernetes?.proxyMode ?? 'iptables';
}

/** host:port of the API server: the file's controlPlaneEndpoint, or the master's address. */
export function endpointOf(cluster: ClusterSpec): { host: string; port: number; text: string } {
  const given = cluster.kubernetes?.controlPlaneEndpoint;
  const parsed = given ? parseEndpoint(given) : null;
  const host = parsed?.host ?? controlPlaneNode(cluster).address;
  const port = parsed?.port ?? API_PORT;
  return { host, port, text: `${host}:${port}` };
}

/** The Kubernetes patch release to install: the file's own patch, else the catalogue's pin. */
export function patchVersionOf(cluster: ClusterSpec, release: KubernetesRelease): string {
  const m = /^v?(\d+\.\d+\.\d+)$/.exec(cluster.kubernetesVersion.trim());
  return m ? m[1]! : release.patch;
}

export function ignoredPreflightErrors(cluster: ClusterSpec, node: NodeSpec): string[] {
  return [...new Set([...(cluster.kubernetes?.kubeadm?.ignorePreflightErrors ?? []), ...(node.kubeadm?.ignorePreflightErrors ?? [])])];
}

/** The folder of kubeadm patches on this computer for a board: its own, else the cluster-wide one. */
export function localPatchesDir(cluster: ClusterSpec, node: NodeSpec): string | undefined {
  return node.kubeadm?.patches ?? cluster.kubernetes?.kubeadm?.patches;
}

/** The patch files for a board, read from this computer (name and text), sorted by name. */
export function patchFiles(cluster: ClusterSpec, node: NodeSpec): Array<{ name: string; content: string }> {
  const dir = localPatchesDir(cluster, node);
  if (!dir) return [];
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isFile())
    .sort()
    .map((name) => ({ name, content: readFileSync(join(dir, name), 'utf8') }));
}

export function nodeRegistrationOf(cluster: ClusterSpec, node: NodeSpec): NodeRegistrationInput {
  return { name: node.name, address: node.address, criSocket: runtimeOf(cluster).criSocket, ignorePreflightErrors: ignoredPreflightErrors(cluster, node) };
}

/** The master's kubeadm config for this cluster file and release. */
export function masterInitConfig(cluster: ClusterSpec, release: KubernetesRelease, featureGates?: FeatureGateSetting[]): string {
  const master = controlPlaneNode(cluster);
  const endpoint = endpointOf(cluster);
  const sans = [...new Set([master.address, endpoint.host, master.name])];
  return initConfig({
    release,
    kubernetesVersion: patchVersionOf(cluster, release),
    clusterName: cluster.name,
    node: nodeRegistrationOf(cluster, master),
    controlPlaneEndpoint: endpoint.text,
    certSANs: sans,
    podSubnet: cluster.network.podSubnet,
    serviceSubnet: cluster.network.serviceSubnet,
    proxyMode: proxyModeOf(cluster),
    patchesDir: localPatchesDir(cluster, master) ? BOARD_PATCHES_DIR : undefined,
    featureGates,
  });
}

/** A POSIX shell word. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
