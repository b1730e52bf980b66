// The node software that goes with each Kubernetes minor: the container runtime (CRI-O of the same minor, or
// containerd + runc), cri-tools and the pause image, and where upstream publishes each artifact with its checksum.
// The packages stage turns these into pacman packages; control-plane and workers read criSocket and pauseImage.
//
// Sources (checked 2026-12-01):
// - pause: kubeadm's constants (cmd/kubeadm/app/constants/constants.go, PauseVersion) — 3.10.2 in v1.37.2 and
//   v1.36.3, 3.10.1 in v1.35.4 (read from the k8s.io/kubernetes modules of those tags).
// - CRI-O: v1.35.0 (2025-12), v1.36.0 (2026-05-04), v1.37.0 (2026-09-16, cri-o/packaging#414); static bundles at
//   storage.googleapis.com/cri-o/artifacts/cri-o.arm64.vX.Y.Z.tar.gz with `.sha256sum` beside each.
// - cri-tools: v1.35.0, v1.36.0 (kubernetes#138613), v1.37.0 (2026-09); crictl-vX.Y.Z-linux-arm64.tar.gz + `.sha256`.
// - containerd v2.3.4 (2026-08-19, moby#53409), runc v1.4.2 (2026-04-03, containerd#13155); containerd 1.x is
//   unsupported from Kubernetes 1.36.
// - sockets: kubeadm's constants_unix.go (CRISocketCRIO, CRISocketContainerd), kept in runtimes.ts.
// Published sha256 values are carried only where one was found (kubespray's checksums.yml); the others are read
// from the checksum file beside the artifact when it is downloaded.
import { RUNTIMES, type ContainerRuntime } from './runtimes.ts';
import type { KubernetesRelease } from './versions.ts';

export type { ContainerRuntime };
/** Every runtime the catalogue knows (runtimes.ts holds their sockets and services). */
export const RUNTIME_NAMES = Object.keys(RUNTIMES) as ContainerRuntime[];

export interface NodeSoftware {
  /** Kubernetes minor, e.g. "1.37". */
  minor: string;
  /** CRI-O patch of the same minor; absent while CRI-O has not released that minor. */
  crio?: string;
  containerd: string;
  runc: string;
  criTools: string;
  /** Tag of registry.k8s.io/pause that kubeadm of this minor expects. */
  pause: string;
}

export const NODE_SOFTWARE: Readonly<Record<string, NodeSoftware>> = {
  '1.35': { minor: '1.35', crio: '1.35.0', containerd: '2.3.4', runc: '1.4.2', criTools: '1.35.0', pause: '3.10.1' },
  '1.36': { minor: '1.36', crio: '1.36.0', containerd: '2.3.4', runc: '1.4.2', criTools: '1.36.0', pause: '3.10.2' },
  '1.37': { minor: '1.37', crio: '1.37.0', containerd: '2.3.4', runc: '1.4.2', criTools: '1.37.0', pause: '3.10.2' },
};

/** What the packages stage needs to know about a runtime, beyond its socket and service (runtimes.ts). */
export interface RuntimeFacts {
  /** kubeadm's nodeRegistration.criSocket (runtimes.ts). */
  criSocket: string;
  /** The systemd unit that runs it. */
  service: string;
  /** The configuration boardkube writes (a pacman backup file of the runtime's package). */
  configPath: string;
}

const CONFIG_PATHS: Record<ContainerRuntime, string> = {
  'cri-o': '/etc/crio/crio.conf.d/20-boardkube.conf',
  containerd: '/etc/containerd/config.toml',
};

export const RUNTIME_FACTS: Readonly<Record<ContainerRuntime, RuntimeFacts>> = Object.fromEntries(
  RUNTIME_NAMES.map((r) => [r, { criSocket: RUNTIMES[r].criSocket, service: `${RUNTIMES[r].service}.service`, configPath: CONFIG_PATHS[r] }]),
) as Record<ContainerRuntime, RuntimeFacts>;

export function pauseImage(release: Pick<KubernetesRelease, 'minor'>): string {
  const sw = NODE_SOFTWARE[release.minor];
  if (!sw) throw new Error(`the catalogue has no node software for Kubernetes ${release.minor}`);
  return `registry.k8s.io/pause:${sw.pause}`;
}

/** The node software for a release and runtime, or why that combination cannot be offered. */
export function nodeSoftware(release: Pick<KubernetesRelease, 'minor'>, runtime: ContainerRuntime): { ok: true; software: NodeSoftware } | { ok: false; problem: string; fix: string } {
  const sw = NODE_SOFTWARE[release.minor];
  if (!sw) return { ok: false, problem: `the catalogue has no container runtime for Kubernetes ${release.minor}`, fix: `use one of ${Object.keys(NODE_SOFTWARE).join(', ')}` };
  if (runtime === 'cri-o' && !sw.crio) {
    return { ok: false, problem: `CRI-O has not released ${release.minor} yet, and CRI-O's minor must equal Kubernetes' minor`, fix: 'use containerd (kubernetes.runtime: containerd) or an older minor' };
  }
  return { ok: true, software: sw };
}

/** How a checksum file is written: a bare hex digest (dl.k8s.io) or sha256sum lines "HEX  NAME" (one or many). */
export type ChecksumFormat = 'hex' | 'sha256sum';

/** One file published upstream, as downloaded into the cache. */
export interface Artifact {
  /** Short name, e.g. "kubelet", "cri-o-bundle". */
  id: string;
  /** File name in the cache (and in a bundle=DIR folder). */
  file: string;
  url: string;
  checksumUrl: string;
  checksumFormat: ChecksumFormat;
  /** The published sha256, when the catalogue carries it. */
  sha256?: string;
  /** Roughly how big it is (MB), for the free-space check and the lab's timings. */
  approxMB: number;
}

/** Published sha256 of arm64 artifacts the catalogue pins, from kubespray's checksums.yml (where it has them). */
const PUBLISHED_SHA256: Readonly<Record<string, string>> = {
  'cri-o.arm64.v1.35.0.tar.gz': 'e57175a4d00387b78adfbe248d087d8127bed625afb529e34b2c90d08cfdaf87',
  'crictl-v1.35.0-linux-arm64.tar.gz': '519071de89b64c43e2a1661bb5489c6c3fd5e9e5fcef75e50e542b0c891f1118',
};

function artifact(id: string, url: string, checksumUrl: string, checksumFormat: ChecksumFormat, approxMB: number): Artifact {
  const file = url.slice(url.lastIndexOf('/') + 1);
  const a: Artifact = { id, file, url, checksumUrl, checksumFormat, approxMB };
  const known = PUBLISHED_SHA256[file];
  return known ? { ...a, sha256: known } : a;
}

/** Every upstream file the packages for this release and runtime are made of (arm64). */
export function artifacts(release: Pick<KubernetesRelease, 'minor' | 'patch'>, runtime: ContainerRuntime): Artifact[] {
  const sw = nodeSoftware(release, runtime);
  if (!sw.ok) throw new Error(`${sw.problem} (fix: ${sw.fix})`);
  const s = sw.software;
  const k8s = `https://dl.k8s.io/release/v${release.patch}/bin/linux/arm64`;
  const list: Artifact[] = [
    // dl.k8s.io names every binary the same for every version: the cache keeps them apart by folder.
    ...(['kubeadm', 'kubelet', 'kubectl'] as const).map((b) => artifact(b, `${k8s}/${b}`, `${k8s}/${b}.sha256`, 'hex', b === 'kubectl' ? 56 : b === 'kubelet' ? 75 : 70)),
  ];
  const crictl = `https://github.com/kubernetes-sigs/cri-tools/releases/download/v${s.criTools}/crictl-v${s.criTools}-linux-arm64.tar.gz`;
  list.push(artifact('cri-tools', crictl, `${crictl}.sha256`, 'hex', 19));
  if (runtime === 'cri-o') {
    const bundle = `https://storage.googleapis.com/cri-o/artifacts/cri-o.arm64.v${s.crio}.tar.gz`;
    list.push(artifact('cri-o', bundle, `${bundle}.sha256sum`, 'sha256sum', 95));
  } else {
    const ctd = `https://github.com/containerd/containerd/releases/download/v${s.containerd}/containerd-${s.containerd}-linux-arm64.tar.gz`;
    list.push(artifact('containerd', ctd, `${ctd}.sha256sum`, 'sha256sum', 33));
    const runc = `https://github.com/opencontainers/runc/releases/download/v${s.runc}`;
    list.push(artifact('runc', `${runc}/runc.arm64`, `${runc}/runc.sha256sum`, 'sha256sum', 11));
  }
  return list;
}

/** The sha256 for `file` in a checksum file's text, or null when it holds none. */
export function parseChecksum(text: string, format: ChecksumFormat, file: string): string | null {
  if (format === 'hex') {
    const m = /^\s*([0-9a-fA-F]{64})\b/.exec(text);
    return m ? m[1]!.toLowerCase() : null;
  }
  const lines = text.split('\n').map((l) => /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(l.trim())).filter((m) => m !== null);
  const match = lines.find((m) => m[2] === file || m[2]!.endsWith(`/${file}`)) ?? (lines.length === 1 ? lines[0] : undefined);
  return match ? match[1]!.toLowerCase() : null;
}
