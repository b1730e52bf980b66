// A boardkube cluster file for nodes of the real-cluster harness (test/harness/realcluster/): the harness LAN, its
// client key, containerd, and the harness's differences from an Arch board through the file's kubeadm settings
// (ignorePreflightErrors for all, each node's own patches folder), as a user's file would carry them.
import * as fs from 'node:fs';
import { stringify } from 'yaml';
import { DEFAULT_RELEASE } from '../../src/catalog/versions.ts';
import type { HarnessNode, RealCluster } from './realcluster/index.ts';

/** Writes the file; the first node is the master. */
export function writeHarnessClusterFile(file: string, name: string, cluster: RealCluster, nodes: HarnessNode[]): void {
  const lan = cluster.lan;
  fs.writeFileSync(
    file,
    stringify({
      apiVersion: 'boardkube.dev/v1alpha1',
      kind: 'Cluster',
      name,
      board: 'odroid-n2',
      kubernetesVersion: DEFAULT_RELEASE.patch,
      kubernetes: { runtime: 'containerd', kubeadm: { ignorePreflightErrors: [...nodes[0]!.ignorePreflightErrors] } },
      network: { lan: lan.cidr, gateway: lan.gateway, dns: [lan.gateway], podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12' },
      ssh: { user: 'root', keyPath: cluster.clientKeyPath, port: 22 },
      timezone: 'UTC',
      nodes: nodes.map((n, i) => ({ name: n.name, role: i === 0 ? 'control-plane' : 'worker', address: n.address, kubeadm: { patches: n.patchesDir } })),
    }),
  );
}

/**
 * Harness nodes are prepared as a user prepares boards by hand: configure's work is theirs (Debian, not Arch: the
 * configure stage cannot run there), and kubeadm, kubelet, kubectl and containerd are installed and running, which
 * the packages stage proves (source=installed). kubeadm's preflight checks what configure would have set.
 */
export const PACKAGES_INSTALLED = ['--assume-done', 'configure', '--stage', 'packages', '--set', 'source=installed'];
