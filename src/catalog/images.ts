// Container images the stages put on a cluster, named in one place: the stages' manifests use these names, and the
// real-cluster test harness builds images under exactly these names (test/testbin/build-images.sh).
import type { KubernetesRelease } from './versions.ts';

/** The flannel-cni-plugin image each flannel release's own kube-flannel.yml installs the CNI plugin from. */
const FLANNEL_CNI_PLUGIN: Record<string, string> = {
  'v0.28.10': 'v1.9.1-flannel3',
};

export interface FlannelImages {
  /** flanneld and install-conf (the DaemonSet's container and its install-cni init container). */
  flannel: string;
  /** The flannel CNI plugin binary at /flannel, copied to /opt/cni/bin by the install-cni-plugin init container. */
  cniPlugin: string;
}

export function flannelImages(release: Pick<KubernetesRelease, 'flannel'>): FlannelImages {
  const plugin = FLANNEL_CNI_PLUGIN[release.flannel];
  if (!plugin) throw new Error(`no flannel-cni-plugin image is catalogued for flannel ${release.flannel}`);
  return {
    flannel: `ghcr.io/flannel-io/flannel:${release.flannel}`,
    cniPlugin: `ghcr.io/flannel-io/flannel-cni-plugin:${plugin}`,
  };
}

/** The registry stage's image: distribution v3 ("registry:3", 3.1.2 in 2026, multi-arch incl. arm64; DOMAIN.md). */
export const REGISTRY_IMAGE = 'docker.io/library/registry:3';
