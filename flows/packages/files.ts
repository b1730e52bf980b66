// The units and configuration files the packages carry (pacman backup files), as pure functions of typed input.
// The kubelet's unit and kubeadm's drop-in follow kubernetes/release (cmd/krel/templates/latest/kubelet/): the
// kubelet restarts every 10 s until kubeadm writes its configuration, and kubeadm's flags come from the files
// kubeadm init/join writes. The user's own kubelet flags go into /etc/kubernetes/kubelet.env (Arch's place).
import { RUNTIMES } from '../../src/catalog/runtimes.ts';

export const KUBELET_SERVICE_PATH = '/usr/lib/systemd/system/kubelet.service';
export const KUBEADM_DROPIN_PATH = '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf';
export const KUBELET_ENV_PATH = '/etc/kubernetes/kubelet.env';
export const CRICTL_YAML_PATH = '/etc/crictl.yaml';
export const CONTAINERD_SERVICE_PATH = '/usr/lib/systemd/system/containerd.service';

export const KUBELET_SERVICE = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
# Until kubeadm init or join has configured it, the kubelet exits at once: it is started again every 10 s.
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

export const KUBEADM_DROPIN = `# kubeadm's flags for the kubelet (kubeadm init and kubeadm join write the files named here).
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# Your own flags, as a last resort (prefer nodeRegistration.kubeletExtraArgs in kubeadm's configuration).
EnvironmentFile=-${KUBELET_ENV_PATH}
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

export const KUBELET_ENV = `# Extra flags for the kubelet (read by ${KUBEADM_DROPIN_PATH}). Kept by pacman when you change it.
KUBELET_EXTRA_ARGS=
`;

export function crictlYaml(criSocket: string): string {
  return `# crictl talks to the container runtime through its CRI socket (written by boardkube).
runtime-endpoint: ${criSocket}
image-endpoint: ${criSocket}
timeout: 10
`;
}

/** CRI-O's drop-in: the cgroup driver the kubelet uses, kubeadm's pause image, and both CNI plugin folders. */
export function crioDropIn(pauseImage: string): string {
  return `# Written by boardkube. The kubelet and CRI-O must agree on the cgroup driver (systemd).
[crio.runtime]
cgroup_manager = "systemd"

[crio.image]
pause_image = "${pauseImage}"

# Arch's cni-plugins installs into /usr/lib/cni; flannel copies its plugin into /opt/cni/bin.
[crio.network]
plugin_dirs = ["/opt/cni/bin/", "/usr/lib/cni/"]
`;
}

/** containerd 2.x (config version 3): the systemd cgroup driver for runc, kubeadm's pause image, CNI folders, certs.d. */
export function containerdConfig(pauseImage: string): string {
  return `# Written by boardkube. The kubelet and containerd must agree on the cgroup driver (systemd).
version = 3

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = '${pauseImage}'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ['/opt/cni/bin', '/usr/lib/cni']
  conf_dir = '/etc/cni/net.d'

# Per-registry settings (the registry stage's CA for HOST:PORT) in certs.d/HOST:PORT/hosts.toml, read on every pull.
[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = '${RUNTIMES.containerd.registryCertsDir}'
`;
}

export const CONTAINERD_SERVICE = `[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`;
