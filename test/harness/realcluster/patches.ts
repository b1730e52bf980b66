// Where a harness node differs from an Arch board, through the knobs a real user has too: kubeadm's own
// `--ignore-preflight-errors` and a kubeadm patches folder (`--patches DIR`), both of which the cluster file carries.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Preflight checks that fail on this machine and on no Arch board with the mainline kernel:
 * SystemVerification refuses cgroup v1 (kubeadm: "you must also explicitly skip this validation").
 */
export const HARNESS_IGNORE_PREFLIGHT_ERRORS: readonly string[] = ['SystemVerification'];

export interface KubeletPatchOptions {
  /** The node's own kubelet cgroupRoot (createCgroupRoot makes it), e.g. "/harness-3-master". */
  cgroupRoot: string;
}

/**
 * Writes a kubeadm patches folder for one node: a KubeletConfiguration merge patch for cgroup v1 without systemd
 * (failCgroupV1: false, cgroupDriver: cgroupfs to match the node's containerd) and the node's own cgroupRoot.
 * kubeadm applies it to /var/lib/kubelet/config.yaml on `init` and `join` (`--patches DIR`).
 * Returns the folder (created if missing; its other files are left alone).
 */
export function writeKubeadmPatches(dir: string, opts: KubeletPatchOptions): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'kubeletconfiguration+merge.yaml'),
    [
      '# cgroup v1 test machine without systemd (real-cluster harness): the kubelet must accept cgroup v1, use the',
      "# cgroupfs driver like the node's containerd, and keep its pods under the node's own cgroup root.",
      'apiVersion: kubelet.config.k8s.io/v1beta1',
      'kind: KubeletConfiguration',
      'failCgroupV1: false',
      'cgroupDriver: cgroupfs',
      `cgroupRoot: ${opts.cgroupRoot}`,
      "# The nodes share this machine's disk with everything else on it: evict only when it is nearly full (the",
      "# defaults, 10-15 % free, evicted a test's pods for the files of a build running beside it).",
      'evictionHard:',
      '  nodefs.available: "1%"',
      '  imagefs.available: "1%"',
      '  memory.available: "100Mi"',
      '',
    ].join('\n'),
  );
  return dir;
}
