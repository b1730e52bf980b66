// The kubeadm configuration files, generated from typed input and the version catalogue: the master's
// InitConfiguration + ClusterConfiguration + KubeletConfiguration + KubeProxyConfiguration, and a worker's
// JoinConfiguration. Checked by the real `kubeadm config validate` of every supported minor (tests).
import { stringify } from 'yaml';
import type { KubernetesRelease } from '../../src/catalog/versions.ts';
import type { ProxyMode } from '../../src/cluster/spec.ts';
import type { GateComponent } from '../../src/catalog/gates.ts';

/** The kubelet's and kube-proxy's config APIs kubeadm passes on (the same in every supported minor). */
export const KUBELET_CONFIG_API = 'kubelet.config.k8s.io/v1beta1';
export const KUBE_PROXY_CONFIG_API = 'kubeproxy.config.k8s.io/v1alpha1';

/** kube-apiserver's port on the master (kubeadm's default). */
export const API_PORT = 6443;

/**
 * Waits sized for an ARM board on an SD card or eMMC: the static control-plane pods start in 1-3 minutes there
 * (kubeadm's default of 4 minutes is too tight for a first start that also unpacks images).
 */
export const ARM_TIMEOUTS = {
  controlPlaneComponentHealthCheck: '10m0s',
  kubeletHealthCheck: '4m0s',
  kubernetesAPICall: '2m0s',
  tlsBootstrap: '10m0s',
  /** A join whose token is refused fails after this instead of hanging (kubernetes #56321). */
  discovery: '2m0s',
} as const;

export interface NodeRegistrationInput {
  name: string;
  address: string;
  criSocket: string;
  ignorePreflightErrors: string[];
}

export interface InitConfigInput {
  release: KubernetesRelease;
  /** "1.37.2" (no v). */
  kubernetesVersion: string;
  clusterName: string;
  node: NodeRegistrationInput;
  /** host:port clients use for the API server. */
  controlPlaneEndpoint: string;
  certSANs: string[];
  podSubnet: string;
  serviceSubnet: string;
  proxyMode: ProxyMode;
  /** Folder on the board with kubeadm patches. */
  patchesDir?: string;
  /** Feature gates (checked against the catalogue for the minor), each set where its components read it. */
  featureGates?: FeatureGateSetting[];
}

export interface FeatureGateSetting {
  name: string;
  value: boolean;
  components: GateComponent[];
}

/** `--feature-gates=A=true,B=false` for one control-plane component, as a kubeadm v1beta4 extraArgs list. */
function gateArgs(gates: FeatureGateSetting[] | undefined, component: GateComponent): { extraArgs: Array<{ name: string; value: string }> } | Record<string, never> {
  const mine = (gates ?? []).filter((g) => g.components.includes(component));
  return mine.length ? { extraArgs: [{ name: 'feature-gates', value: mine.map((g) => `${g.name}=${g.value}`).join(',') }] } : {};
}

function kubeletGates(gates: FeatureGateSetting[] | undefined): { featureGates?: Record<string, boolean> } {
  const mine = (gates ?? []).filter((g) => g.components.includes('kubelet'));
  return mine.length ? { featureGates: Object.fromEntries(mine.map((g) => [g.name, g.value])) } : {};
}

export interface JoinConfigInput {
  release: KubernetesRelease;
  node: NodeRegistrationInput;
  /** host:port of the API server. */
  apiServerEndpoint: string;
  /** The bootstrap token (a secret: the file holding it is 0600 and removed after the join). */
  token: string;
  /** "sha256:HEX" of the cluster CA's public key. */
  caCertHash: string;
  patchesDir?: string;
}

function nodeRegistration(n: NodeRegistrationInput) {
  return {
    name: n.name,
    criSocket: n.criSocket,
    // The board's LAN address, also when it has other interfaces (Wi-Fi, a second cable, a test bridge).
    kubeletExtraArgs: [{ name: 'node-ip', value: n.address }],
    ...(n.ignorePreflightErrors.length ? { ignorePreflightErrors: n.ignorePreflightErrors } : {}),
  };
}

function documents(docs: object[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** The master's kubeadm config (`kubeadm init --config`). Holds no secret: kubeadm makes its own first token. */
export function initConfig(i: InitConfigInput): string {
  return documents([
    {
      apiVersion: i.release.kubeadmApi,
      kind: 'InitConfiguration',
      localAPIEndpoint: { advertiseAddress: i.node.address, bindPort: API_PORT },
      nodeRegistration: nodeRegistration(i.node),
      ...(i.patchesDir ? { patches: { directory: i.patchesDir } } : {}),
      timeouts: {
        controlPlaneComponentHealthCheck: ARM_TIMEOUTS.controlPlaneComponentHealthCheck,
        kubeletHealthCheck: ARM_TIMEOUTS.kubeletHealthCheck,
        kubernetesAPICall: ARM_TIMEOUTS.kubernetesAPICall,
      },
    },
    {
      apiVersion: i.release.kubeadmApi,
      kind: 'ClusterConfiguration',
      clusterName: i.clusterName,
      kubernetesVersion: `v${i.kubernetesVersion}`,
      controlPlaneEndpoint: i.controlPlaneEndpoint,
      networking: { podSubnet: i.podSubnet, serviceSubnet: i.serviceSubnet, dnsDomain: 'cluster.local' },
      apiServer: { certSANs: i.certSANs, ...gateArgs(i.featureGates, 'kube-apiserver') },
      ...(gateArgs(i.featureGates, 'kube-controller-manager').extraArgs ? { controllerManager: gateArgs(i.featureGates, 'kube-controller-manager') } : {}),
      ...(gateArgs(i.featureGates, 'kube-scheduler').extraArgs ? { scheduler: gateArgs(i.featureGates, 'kube-scheduler') } : {}),
    },
    {
      apiVersion: KUBELET_CONFIG_API,
      kind: 'KubeletConfiguration',
      // The runtime is configured for systemd's cgroups too; a mismatch is the classic kubelet that never gets healthy.
      cgroupDriver: 'systemd',
      ...kubeletGates(i.featureGates),
    },
    {
      apiVersion: KUBE_PROXY_CONFIG_API,
      kind: 'KubeProxyConfiguration',
      mode: i.proxyMode,
    },
  ]);
}

/** A worker's kubeadm config (`kubeadm join --config`): the token stays in this 0600 file, never on a command line. */
export function joinConfig(j: JoinConfigInput): string {
  return documents([
    {
      apiVersion: j.release.kubeadmApi,
      kind: 'JoinConfiguration',
      discovery: {
        bootstrapToken: { apiServerEndpoint: j.apiServerEndpoint, token: j.token, caCertHashes: [j.caCertHash] },
      },
      nodeRegistration: nodeRegistration(j.node),
      ...(j.patchesDir ? { patches: { directory: j.patchesDir } } : {}),
      timeouts: { discovery: ARM_TIMEOUTS.discovery, tlsBootstrap: ARM_TIMEOUTS.tlsBootstrap, kubernetesAPICall: ARM_TIMEOUTS.kubernetesAPICall },
    },
  ]);
}
