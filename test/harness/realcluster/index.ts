// REAL-CLUSTER TEST HARNESS: real kubeadm nodes on this one machine, reached over real SSH.
//
//   const cluster = await startRealCluster();            // builds/reads the testbin cache, claims a LAN
//   const master = await cluster.startNode({ name: 'master' });          // 10.250.N.10 (images: false skips imports)
//   const w1 = await cluster.startNode({ name: 'worker1', address: cluster.lan.address(11) });
//   ... boardkube apply over SSH, or `await master.ssh('kubeadm init ...')` ...
//   await cluster.stop();                                 // always (afterAll), also when a test failed
//
// Network: every cluster claims its own LAN 10.250.N.0/24 (N free on this machine; `cluster.lan`). A node is a
//   network namespace harness-N-NAME on a bridge (in namespace harness-N-lan). The test process reaches the nodes
//   from the machine's own namespace through veth hrn-N (address 10.250.N.254). The bridge address 10.250.N.1
//   (`lan.gateway`) is each node's default route and its only nameserver: nothing listens or forwards there, so
//   nothing leaves the machine.
// SSH: each node runs its own OpenSSH sshd on ADDRESS:22 (`node.port`), user root (`node.user`), key login only with
//   `cluster.clientKeyPath` (ed25519, no passphrase; .pub beside it), host key `node.hostKeyPubPath`
//   (`node.hostKeyFingerprint` "SHA256:..."); `cluster.knownHostsPath` lists every node. `node.ssh(cmd)` runs a
//   command with the OpenSSH client; `node.exec(argv)` enters the node's namespaces directly (setup, diagnostics).
// Files (the cluster folder is /var/tmp/harness-realcluster-*/nodes/NAME/root): a node has its own /etc (a copy of
//   this machine's, without kubernetes/ and cni/; its own hosts with every node by name, resolv.conf, hostname,
//   machine-id), /run, /var/lib, /var/log, /opt (/opt/cni/bin starts with Debian's CNI plugins), /tmp, /root and
//   /usr/local/sbin, and its own hostname (UTS namespace). /usr, /var/tmp and the rest are this machine's.
// Programs on the node's PATH (/usr/local/sbin): kubeadm, kubelet, kubectl (the default Kubernetes version of
//   test/testbin/build.sh), containerd, containerd-shim-runc-v2, ctr, runc, crictl, and `systemctl`, a TEST STAND-IN
//   for systemd (systemctl.sh): start/stop/restart/enable/disable/is-active/is-enabled/status/daemon-reload for the
//   units containerd and kubelet, each supervised and restarted like Restart=always. containerd is running and the
//   kubelet enabled and waiting for kubeadm's files when startNode returns (as after the packages stage).
//   `update-ca-trust`, a TEST STAND-IN for Arch's (update-ca-trust.sh): rebuilds /etc/ca-certificates/extracted/
//   tls-ca-bundle.pem from Debian's CAs and /etc/ca-certificates/trust-source/anchors/ (nothing on Debian reads it).
// Runtime: containerd 2.3 at unix:///run/containerd/containerd.sock (config: containerd.toml here; cgroupfs,
//   restrict_oom_score_adj), every image of `cluster.images` imported in namespace k8s.io under the names kubeadm
//   (`kubeadm config images list`) and the catalogue (src/catalog/images.ts: flannel, flannel-cni-plugin) use;
//   `cluster.testImage` is a busybox for test pods; the registry stage's registry:3 is one of them (distribution
//   built by test/testbin/registry.sh). No registry outside: manifests need imagePullPolicy IfNotPresent/Never,
//   except for images pushed to a registry inside the cluster. containerd reads /etc/containerd/certs.d
//   (config_path, as the packages stage sets it on a board).
// What differs from an Arch board goes through knobs a real user has (patches.ts): `node.ignorePreflightErrors`
//   (SystemVerification: cgroup v1) for `kubeadm --ignore-preflight-errors`, and `node.patchesDir`, a kubeadm
//   patches folder (kubeletconfiguration+merge.yaml: failCgroupV1 false, cgroupDriver cgroupfs, cgroupRoot
//   `node.cgroupRoot`, which exists in every cgroup v1 hierarchy) for `patches.directory` of an Init/Join
//   configuration, or `--patches DIR` without --config. The folder is on this machine's shared /var/tmp, so the same
//   path works on the node; or upload its files.
// Teardown (`node.stop()`, `cluster.stop()`): every process of the node by PID (its mount and network namespace,
//   its cgroup root), its cgroups, its namespaces; then the LAN; the last cluster on the machine restores the global
//   sysctls the kubelet changed (machine.ts GLOBAL_SYSCTLS). Nothing is mounted in the machine's own mount
//   namespace, so nothing is left there. What a crashed run left is ended by the next cluster started on the machine.
// Teardown checks and diagnostics: `node.pids()` (the node's processes now), `node.logs()` (kubelet, containerd and
//   sshd logs; the stand-in's unit logs are in node.dir/standin/).
// Needs root, the Debian packages of .ci/run and `npm run testbin`. Measured (harness.test.ts, 2 cores under load):
//   two nodes up with images ~40 s; init + flannel + join to both Ready and a DNS answer ~70-90 s; teardown ~6 s;
//   peak memory of a master and a worker with flannel and CoreDNS 1.4 GiB (summed RSS); disk 1.5 GB per node
//   (mostly the image store), under /var/tmp.
export { startRealCluster, type RealCluster } from './cluster.ts';
export type { HarnessNode, NodeOptions } from './node.ts';
export { HARNESS_IGNORE_PREFLIGHT_ERRORS, writeKubeadmPatches, type KubeletPatchOptions } from './patches.ts';
export { createCgroupRoot, removeCgroupRoot } from './cgroups.ts';
export { clusterTestbin, type ClusterImage, type ClusterTestbin } from './testbin.ts';
export { GLOBAL_SYSCTLS } from './machine.ts';
