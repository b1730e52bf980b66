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

/**
 * The ci stage's images (DOMAIN.md; all multi-arch with arm64). Forgejo publishes major-version tags and no
 * `latest` (16.0, 2026-07); Woodpecker 3.18 (2026-08) server and agent; the builder is the maintained kaniko fork
 * (its -debug variant has the busybox shell a Woodpecker step's `commands` need); kubectl rolls the Deployment.
 */
export interface CiImages {
  forgejo: string;
  woodpeckerServer: string;
  woodpeckerAgent: string;
  builder: string;
  kubectl: string;
  /** The sample app's base image (busybox httpd serves it). */
  sampleBase: string;
}

export function ciImages(release: Pick<KubernetesRelease, 'patch'>): CiImages {
  return {
    forgejo: 'codeberg.org/forgejo/forgejo:16',
    woodpeckerServer: 'docker.io/woodpeckerci/woodpecker-server:v3.18.0',
    woodpeckerAgent: 'docker.io/woodpeckerci/woodpecker-agent:v3.18.0',
    builder: 'ghcr.io/osscontainertools/kaniko:v1.28.3-debug',
    // kubectl of the cluster's own version, in an image with a shell (a step's `commands` run in sh).
    kubectl: `docker.io/alpine/k8s:${release.patch}`,
    sampleBase: 'docker.io/library/busybox:1.37',
  };
}

/** Images of the ttl and webhook stages: official multi-arch images with an arm64 variant. */
export const IMAGES = {
  /** The ttl stage's proof Job: a shell that exits at once. */
  proofJob: 'docker.io/library/busybox:1.37.0',
  /** The webhook stage's server (mode webhook): stock Node, the script comes from a ConfigMap. */
  webhookServer: 'docker.io/library/node:24-alpine',
} as const;
