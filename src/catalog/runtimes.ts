// Container runtimes the stages can drive: the CRI socket kubeadm and crictl talk to, and the service that is
// restarted after a board reset. Sources: CRI-O and containerd documentation (default socket paths).
export type ContainerRuntime = 'cri-o' | 'containerd';

export interface RuntimeInfo {
  id: ContainerRuntime;
  /** nodeRegistration.criSocket / crictl --runtime-endpoint */
  criSocket: string;
  /** The system service (systemctl restart NAME). */
  service: string;
  /** Where the runtime reads per-registry trust, one folder per HOST:PORT (CRI-O: ca.crt; containerd: hosts.toml). */
  registryCertsDir: string;
}

export const RUNTIMES: Record<ContainerRuntime, RuntimeInfo> = {
  'cri-o': { id: 'cri-o', criSocket: 'unix:///var/run/crio/crio.sock', service: 'crio', registryCertsDir: '/etc/containers/certs.d' },
  containerd: { id: 'containerd', criSocket: 'unix:///var/run/containerd/containerd.sock', service: 'containerd', registryCertsDir: '/etc/containerd/certs.d' },
};

export const DEFAULT_RUNTIME: ContainerRuntime = 'cri-o';
