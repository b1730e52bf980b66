// What each package is made of: the catalogue's artifacts for the release and runtime, the units and configs
// boardkube writes, and where package() puts every file. Pure: the same input gives the same PKGBUILDs.
import { createHash } from 'node:crypto';
import { artifacts, RUNTIME_FACTS, pauseImage, nodeSoftware, type Artifact, type ContainerRuntime, type NodeSoftware } from '../../src/catalog/packages.ts';
import type { KubernetesRelease } from '../../src/catalog/versions.ts';
import {
  containerdConfig,
  CONTAINERD_SERVICE,
  CONTAINERD_SERVICE_PATH,
  crictlYaml,
  CRICTL_YAML_PATH,
  crioDropIn,
  KUBEADM_DROPIN,
  KUBEADM_DROPIN_PATH,
  KUBELET_ENV,
  KUBELET_ENV_PATH,
  KUBELET_SERVICE,
  KUBELET_SERVICE_PATH,
} from './files.ts';
import type { InstallEntry, PackageSource, PackageSpec } from './pkgbuild.ts';

/** Dependencies from the distribution's repository (DOMAIN.md: Arch's kubelet and cri-o depend on these). */
export const KUBELET_DEPENDS = ['conntrack-tools', 'ethtool', 'iptables-nft', 'socat', 'cni-plugins'];
const RUNTIME_DEPENDS: Record<ContainerRuntime, string[]> = {
  'cri-o': ['containers-common', 'cni-plugins', 'conntrack-tools', 'iptables-nft'],
  containerd: ['cni-plugins'],
};

export interface Build {
  release: Pick<KubernetesRelease, 'minor' | 'patch'>;
  runtime: ContainerRuntime;
  software: NodeSoftware;
  /** The upstream files, in download order. */
  artifacts: Artifact[];
  packages: PackageSpec[];
  /** Files boardkube writes into the build folders: package name -> file name -> text. */
  localFiles: Record<string, Record<string, string>>;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const rel = (path: string) => path.replace(/^\//, '');

/**
 * Every package for the release and runtime. `checksums` maps artifact ids to their sha256 (known from the
 * catalogue, the cache or a bundle); an artifact without one shows "fetched at run" in its PKGBUILD.
 */
export function planBuild(release: Pick<KubernetesRelease, 'minor' | 'patch'>, runtime: ContainerRuntime, checksums: Record<string, string | undefined> = {}): Build {
  const sw = nodeSoftware(release, runtime);
  if (!sw.ok) throw new Error(`${sw.problem} (fix: ${sw.fix})`);
  const software = sw.software;
  const list = artifacts(release, runtime);
  const facts = RUNTIME_FACTS[runtime];
  const pause = pauseImage(release);
  const byId = new Map(list.map((a) => [a.id, a]));
  const upstream = (id: string): PackageSource => {
    const a = byId.get(id)!;
    return { name: a.file, url: a.url, sha256: checksums[id] ?? a.sha256 ?? null, checksumUrl: a.checksumUrl };
  };
  const localFiles: Record<string, Record<string, string>> = {};
  const local = (pkg: string, name: string, text: string): PackageSource => {
    (localFiles[pkg] ??= {})[name] = text;
    return { name, sha256: sha(text) };
  };
  const bin = (from: string, name = from.slice(from.lastIndexOf('/') + 1)): InstallEntry => ({ from, to: `/usr/bin/${name}`, mode: 0o755 });
  const conf = (from: string, to: string): InstallEntry => ({ from, to, mode: 0o644 });
  const k8s = (name: string, description: string, extra: Partial<PackageSpec> = {}): PackageSpec => ({
    name,
    version: release.patch,
    rel: 1,
    description,
    url: 'https://kubernetes.io',
    license: 'Apache-2.0',
    depends: [],
    provides: [],
    conflicts: [],
    backup: [],
    sources: [upstream(name)],
    install: [bin(byId.get(name)!.file, name)],
    origin: `Kubernetes ${release.patch} from dl.k8s.io`,
    ...extra,
  });

  const packages: PackageSpec[] = [
    k8s('kubeadm', 'Kubernetes cluster bootstrapping tool (pinned by boardkube)', { depends: ['kubelet'] }),
    k8s('kubelet', 'Kubernetes node agent (pinned by boardkube)', {
      depends: KUBELET_DEPENDS,
      backup: [rel(KUBELET_SERVICE_PATH), rel(KUBEADM_DROPIN_PATH), rel(KUBELET_ENV_PATH)],
      sources: [upstream('kubelet'), local('kubelet', 'kubelet.service', KUBELET_SERVICE), local('kubelet', '10-kubeadm.conf', KUBEADM_DROPIN), local('kubelet', 'kubelet.env', KUBELET_ENV)],
      install: [bin(byId.get('kubelet')!.file, 'kubelet'), conf('kubelet.service', KUBELET_SERVICE_PATH), conf('10-kubeadm.conf', KUBEADM_DROPIN_PATH), conf('kubelet.env', KUBELET_ENV_PATH)],
      dirs: ['/etc/kubernetes/manifests', '/var/lib/kubelet'],
    }),
    k8s('kubectl', 'Kubernetes command line client (pinned by boardkube)'),
    {
      name: 'cri-tools',
      version: software.criTools,
      rel: 1,
      description: `crictl, the CRI command line client, talking to ${runtime} (pinned by boardkube)`,
      url: 'https://github.com/kubernetes-sigs/cri-tools',
      license: 'Apache-2.0',
      depends: [],
      provides: ['crictl'],
      conflicts: ['crictl'],
      backup: [rel(CRICTL_YAML_PATH)],
      sources: [upstream('cri-tools'), local('cri-tools', 'crictl.yaml', crictlYaml(facts.criSocket))],
      install: [bin('crictl'), conf('crictl.yaml', CRICTL_YAML_PATH)],
      origin: `cri-tools ${software.criTools} from its GitHub release`,
    },
  ];

  if (runtime === 'cri-o') {
    // The static bundle unpacks into cri-o/; its units and configs name /usr/local/bin, the package uses /usr/bin.
    const toUsr = { from: '/usr/local/bin/', to: '/usr/bin/' };
    packages.push({
      name: 'cri-o',
      version: software.crio!,
      rel: 1,
      description: `CRI-O ${software.crio} container runtime from its static bundle, with conmon and crun (pinned by boardkube)`,
      url: 'https://cri-o.io',
      license: 'Apache-2.0',
      depends: RUNTIME_DEPENDS['cri-o'],
      provides: ['conmon', 'crun'],
      conflicts: ['conmon', 'crun'],
      backup: ['etc/crio/crio.conf.d/10-crun.conf', rel(facts.configPath), 'usr/lib/systemd/system/crio.service'],
      sources: [upstream('cri-o'), local('cri-o', '20-boardkube.conf', crioDropIn(pause))],
      install: [
        ...['crio', 'crio-status', 'pinns', 'conmon', 'conmonrs', 'crun'].map((b) => bin(`cri-o/bin/${b}`)),
        { from: 'cri-o/contrib/crio.service', to: '/usr/lib/systemd/system/crio.service', mode: 0o644, rewrite: toUsr },
        { from: 'cri-o/etc/10-crun.conf', to: '/etc/crio/crio.conf.d/10-crun.conf', mode: 0o644, rewrite: toUsr },
        conf('20-boardkube.conf', facts.configPath),
      ],
      dirs: ['/etc/cni/net.d'],
      origin: `CRI-O ${software.crio} for Kubernetes ${release.minor}, static bundle from storage.googleapis.com/cri-o`,
    });
  } else {
    packages.push(
      {
        name: 'containerd',
        version: software.containerd,
        rel: 1,
        description: `containerd ${software.containerd} container runtime (pinned by boardkube)`,
        url: 'https://containerd.io',
        license: 'Apache-2.0',
        depends: [...RUNTIME_DEPENDS.containerd, 'runc'],
        provides: [],
        conflicts: [],
        backup: [rel(facts.configPath), rel(CONTAINERD_SERVICE_PATH)],
        sources: [upstream('containerd'), local('containerd', 'containerd.service', CONTAINERD_SERVICE), local('containerd', 'config.toml', containerdConfig(pause))],
        install: [...['containerd', 'containerd-shim-runc-v2', 'ctr'].map((b) => bin(`bin/${b}`)), conf('containerd.service', CONTAINERD_SERVICE_PATH), conf('config.toml', facts.configPath)],
        dirs: ['/etc/cni/net.d'],
        origin: `containerd ${software.containerd} from its GitHub release`,
      },
      {
        name: 'runc',
        version: software.runc,
        rel: 1,
        description: `runc ${software.runc}, the OCI runtime containerd starts containers with (pinned by boardkube)`,
        url: 'https://github.com/opencontainers/runc',
        license: 'Apache-2.0',
        depends: [],
        provides: [],
        conflicts: [],
        backup: [],
        sources: [upstream('runc')],
        install: [bin('runc.arm64', 'runc')],
        origin: `runc ${software.runc} from its GitHub release`,
      },
    );
  }
  return { release, runtime, software, artifacts: list, packages, localFiles };
}

/** Package names in install order (pacman -U resolves the order itself; this is for lists and IgnorePkg). */
export function packageNames(build: Pick<Build, 'packages'>): string[] {
  return build.packages.map((p) => p.name);
}
