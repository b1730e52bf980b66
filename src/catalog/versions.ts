// The version catalogue: everything that depends on the Kubernetes version lives here, so flows never
// carry `if (minor >= ...)` of their own. Sources: ../shared/DOMAIN.md and the Kubernetes release notes.
// Feature gates per minor: gates.ts.

export interface KubernetesRelease {
  /** e.g. "1.37" */
  minor: string;
  /** Newest patch we pin, without the leading v, e.g. "1.37.2". */
  patch: string;
  /** CRI-O must share the Kubernetes minor. */
  crio: string;
  /** kubeadm configuration API used for this release. */
  kubeadmApi: 'kubeadm.k8s.io/v1beta4';
  /** The kubelet refuses cgroup v1 from 1.35 on. */
  requiresCgroupV2: boolean;
  /** Flannel release known to work with this minor. */
  flannel: string;
  releasedOn: string;
}

export const RELEASES: readonly KubernetesRelease[] = [
  { minor: '1.35', patch: '1.35.4', crio: '1.35', kubeadmApi: 'kubeadm.k8s.io/v1beta4', requiresCgroupV2: true, flannel: 'v0.28.10', releasedOn: '2025-12-17' },
  { minor: '1.36', patch: '1.36.3', crio: '1.36', kubeadmApi: 'kubeadm.k8s.io/v1beta4', requiresCgroupV2: true, flannel: 'v0.28.10', releasedOn: '2026-04-22' },
  { minor: '1.37', patch: '1.37.2', crio: '1.37', kubeadmApi: 'kubeadm.k8s.io/v1beta4', requiresCgroupV2: true, flannel: 'v0.28.10', releasedOn: '2026-08-26' },
];

export const DEFAULT_RELEASE: KubernetesRelease = RELEASES[RELEASES.length - 1]!;
export const DEFAULT_KUBERNETES_VERSION = DEFAULT_RELEASE.patch;

/** Accepts "1.37", "1.37.2" or "v1.37.2". */
export function findRelease(version: string): KubernetesRelease | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(version.trim());
  if (!m) return undefined;
  const rel = RELEASES.find((r) => r.minor === `${m[1]}.${m[2]}`);
  if (!rel) return undefined;
  if (m[3] !== undefined) {
    // A patch other than the pinned one is allowed only if it is not newer than what we tested.
    const patch = Number(m[3]);
    const pinned = Number(rel.patch.split('.')[2]);
    if (patch > pinned) return undefined;
  }
  return rel;
}

export function supportedVersionsText(): string {
  return RELEASES.map((r) => r.patch).join(', ');
}
