// The real-cluster harness itself (test/harness/realcluster/): two nodes, each its own network and mount namespace
// with a real OpenSSH server, a real containerd and a real kubelet, reached over real SSH at their own addresses.
// To prove the harness can carry a cluster (not to test boardkube's stages, which run on it through
// `boardkube apply`), this test drives kubeadm directly over SSH: `kubeadm init` on the master with the harness's
// knobs (ignore-preflight-errors, a patches folder), flannel from the locally built images, a `kubeadm join`, both
// nodes Ready, CoreDNS answering a pod on the worker. The `systemctl` on the nodes is a test stand-in (no systemd).
// Needs root and `npm run testbin` (cold: many minutes).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RELEASE } from '../../../src/catalog/versions.ts';
import { flannelImages } from '../../../src/catalog/images.ts';
import { GLOBAL_SYSCTLS, startRealCluster, type HarnessNode, type RealCluster } from '../../harness/realcluster/index.ts';

const CRI = 'unix:///run/containerd/containerd.sock';
const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';

let cluster: RealCluster | undefined;
let master: HarnessNode;
let worker: HarnessNode;
const sysctlsBefore = readSysctls();
const HOLDERS = '/run/harness-realcluster/holders';
/** Whether another harness cluster holds the machine (its kubelets change the same global sysctls). */
const othersHold = () => fs.existsSync(HOLDERS) && fs.readdirSync(HOLDERS).length > 0;
const aloneAtStart = !othersHold();

beforeAll(async () => {
  cluster = await startRealCluster();
  [master, worker] = await Promise.all([cluster.startNode({ name: 'master' }), cluster.startNode({ name: 'worker1' })]);
}, 900_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

/** Runs over SSH and shows the nodes' logs when the command fails. */
async function ssh(node: HarnessNode, command: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  try {
    return (await node.ssh(command, opts)).stdout;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${master.logs()}\n${worker.logs()}`);
  }
}

async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s ${last}\n${master.logs()}\n${worker.logs()}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

describe('real-cluster harness', () => {
  it('reaches each node over real SSH at its own address, host key checked, with its own hostname and files', async () => {
    const seen = [];
    for (const node of [master, worker]) {
      expect(node.address).toMatch(new RegExp(`^10\\.250\\.${cluster!.lan.n}\\.\\d+$`));
      expect(node.hostKeyFingerprint).toMatch(/^SHA256:/);
      const out = await ssh(node, 'hostname; cat /etc/machine-id; ip -4 -o addr show dev eth0; echo "$SSH_CONNECTION"');
      const [hostname, machineId, addr, conn] = out.trim().split('\n');
      expect(hostname).toBe(node.name);
      expect(addr).toContain(`inet ${node.address}/24`);
      // The server side of the connection is the node's own address: no port forwarding, no loopback.
      expect(conn?.split(' ')[2]).toBe(node.address);
      seen.push(machineId);
    }
    expect(new Set(seen).size).toBe(2);
    // A node's /etc is its own: a file written on one is neither on the other nor on this machine.
    await ssh(master, 'echo master > /etc/harness-probe');
    expect(await ssh(worker, 'ls /etc')).not.toContain('harness-probe');
    expect(fs.existsSync('/etc/harness-probe')).toBe(false);
    expect(await ssh(master, 'cat /etc/harness-probe')).toBe('master\n');
  });

  it('gives the nodes nothing beyond the LAN: no route out, a nameserver the test owns', async () => {
    const lan = cluster!.lan;
    expect(await ssh(master, 'cat /etc/resolv.conf')).toBe(`nameserver ${lan.gateway}\n`);
    expect(await ssh(master, 'ip route get 1.1.1.1')).toContain(`via ${lan.gateway}`);
    // The gateway is the bridge's own address in a namespace that forwards nothing.
    const out = await ssh(master, 'timeout 3 bash -c "</dev/tcp/1.1.1.1/53" && echo reached || echo unreachable');
    expect(out.trim()).toBe('unreachable');
    expect((await ssh(worker, `timeout 3 bash -c "</dev/tcp/${master.address}/22" && echo reached`)).trim()).toBe('reached');
  });

  it('runs containerd under the systemctl stand-in; crictl info answers and every image kubeadm and flannel need is there', async () => {
    for (const node of [master, worker]) {
      expect((await ssh(node, 'systemctl is-active containerd')).trim()).toBe('active');
      const info = JSON.parse(await ssh(node, `crictl --runtime-endpoint ${CRI} info`));
      const ready = info.status.conditions.find((c: { type: string }) => c.type === 'RuntimeReady');
      expect(ready?.status).toBe(true);
      const have = JSON.parse(await ssh(node, `crictl --runtime-endpoint ${CRI} images -o json`)).images.flatMap(
        (i: { repoTags: string[] }) => i.repoTags,
      );
      const want = (await ssh(node, `kubeadm config images list --kubernetes-version v${DEFAULT_RELEASE.patch}`)).trim().split('\n');
      const flannel = flannelImages(DEFAULT_RELEASE);
      for (const ref of [...want, flannel.flannel, flannel.cniPlugin, cluster!.testImage]) expect(have).toContain(ref);
    }
  });

  it('carries a kubeadm cluster: init on the master, flannel, a join; both Ready, CoreDNS answers a pod on the worker', async () => {
    const release = DEFAULT_RELEASE;
    await ssh(master, 'cat > /root/kubeadm.yaml', { input: kubeadmConfig(master, release.patch) });
    const ignore = `--ignore-preflight-errors=${master.ignorePreflightErrors.join(',')}`;
    await ssh(master, `kubeadm init --config /root/kubeadm.yaml ${ignore}`, { timeoutMs: 300_000 });
    expect(await ssh(master, 'cat /var/lib/kubelet/config.yaml')).toContain(`cgroupRoot: ${master.cgroupRoot}`);

    await ssh(master, `${KUBECTL} apply -f -`, { input: flannelManifest(flannelImages(release)) });
    const join = (await ssh(master, 'kubeadm token create --ttl 10m --print-join-command')).trim();
    expect(join).toMatch(/^kubeadm join /);
    await ssh(worker, `${join} --cri-socket ${CRI} ${ignore} --patches ${worker.patchesDir}`, { timeoutMs: 300_000 });

    await eventually('both nodes Ready', 240_000, async () => {
      const nodes = JSON.parse(await ssh(master, `${KUBECTL} get nodes -o json`)).items as Array<{
        metadata: { name: string };
        status: { conditions: Array<{ type: string; status: string }> };
      }>;
      const ready = nodes.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 2 ? ready.map((n) => n.metadata.name).sort() : undefined;
    }).then((names) => expect(names).toEqual(['master', 'worker1']));

    // Nodes Ready is not yet DNS: CoreDNS may still be starting, and until the worker's kube-proxy has its
    // endpoints it rejects the Service's address ("connection refused"). A probe that ran too early is run again.
    let log = '';
    await ssh(master, `${KUBECTL} apply -f -`, { input: dnsProbePod(cluster!.testImage) });
    await eventually('the probe pod on the worker to resolve kubernetes.default', 180_000, async () => {
      const phase = (await ssh(master, `${KUBECTL} get pod harness-dns-probe -o jsonpath={.status.phase}`)).trim();
      if (phase !== 'Succeeded' && phase !== 'Failed') return undefined;
      log = await ssh(master, `${KUBECTL} logs harness-dns-probe`);
      if (/Address:?\s+10\.96\.0\.1\b/.test(log)) return log;
      await ssh(master, `${KUBECTL} delete pod harness-dns-probe --wait=true`);
      await ssh(master, `${KUBECTL} apply -f -`, { input: dnsProbePod(cluster!.testImage) });
      return undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; the last probe said:\n${log}`);
    });
    expect(log).toMatch(/Address:?\s+10\.96\.0\.1\b/);
  }, 900_000);

  it('tears everything down: every process by PID, namespaces, links, cgroups, files; the global sysctls restored', async () => {
    const n = cluster!.lan.n;
    const pids = [...master.pids(), ...worker.pids()];
    expect(pids.length).toBeGreaterThan(10); // sshd, containerd, kubelet, shims, pods...
    const kubeletChanged = readSysctls();
    await cluster!.stop();
    expect(pids.filter((pid) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '))).toEqual([]);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`harness-${n}-`);
    expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toContain(`hrn-${n}:`);
    for (const h of fs.readdirSync('/sys/fs/cgroup')) {
      expect(fs.readdirSync(`/sys/fs/cgroup/${h}`).filter((e) => e.startsWith(`harness-${n}-`))).toEqual([]);
    }
    expect(fs.existsSync(cluster!.dir)).toBe(false);
    // The kubelet rewrote some of them (e.g. kernel.panic=10); the last harness cluster on the machine puts them back.
    if (aloneAtStart && !othersHold()) {
      expect(kubeletChanged).not.toEqual(sysctlsBefore);
      expect(readSysctls()).toEqual(sysctlsBefore);
    }
  }, 120_000);
});

function readSysctls(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of GLOBAL_SYSCTLS) {
    const file = `/proc/sys/${key.replaceAll('.', '/')}`;
    if (fs.existsSync(file)) values[key] = fs.readFileSync(file, 'utf8').trim();
  }
  return values;
}

function kubeadmConfig(node: HarnessNode, version: string): string {
  return `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: ${node.address}
  bindPort: 6443
nodeRegistration:
  name: ${node.name}
  criSocket: ${CRI}
  kubeletExtraArgs:
  - name: node-ip
    value: ${node.address}
patches:
  directory: ${node.patchesDir}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v${version}
controlPlaneEndpoint: ${node.address}:6443
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
`;
}

/** The smallest flannel that works: RBAC, its ConfigMap and the DaemonSet, with the images the catalogue names. */
function flannelManifest(images: { flannel: string; cniPlugin: string }): string {
  return `apiVersion: v1
kind: Namespace
metadata: {name: kube-flannel}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: flannel, namespace: kube-flannel}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: flannel}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get]}
- {apiGroups: [""], resources: [nodes], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [nodes/status], verbs: [patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: flannel}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: flannel}
subjects: [{kind: ServiceAccount, name: flannel, namespace: kube-flannel}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-flannel-cfg, namespace: kube-flannel}
data:
  cni-conf.json: |
    {"name": "cbr0", "cniVersion": "0.3.1", "plugins": [
      {"type": "flannel", "delegate": {"hairpinMode": true, "isDefaultGateway": true}},
      {"type": "portmap", "capabilities": {"portMappings": true}}]}
  net-conf.json: |
    {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-flannel-ds, namespace: kube-flannel}
spec:
  selector: {matchLabels: {app: flannel}}
  template:
    metadata: {labels: {app: flannel}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      serviceAccountName: flannel
      tolerations: [{operator: Exists, effect: NoSchedule}]
      initContainers:
      - name: install-cni-plugin
        image: ${images.cniPlugin}
        imagePullPolicy: IfNotPresent
        command: [cp, -f, /flannel, /opt/cni/bin/flannel]
        volumeMounts: [{name: cni-plugin, mountPath: /opt/cni/bin}]
      - name: install-cni
        image: ${images.flannel}
        imagePullPolicy: IfNotPresent
        command: [/opt/bin/install-conf, /etc/kube-flannel/cni-conf.json, /etc/cni/net.d/10-flannel.conflist]
        volumeMounts: [{name: cni, mountPath: /etc/cni/net.d}, {name: cfg, mountPath: /etc/kube-flannel/}]
      containers:
      - name: kube-flannel
        image: ${images.flannel}
        imagePullPolicy: IfNotPresent
        command: [/opt/bin/flanneld, --ip-masq, --kube-subnet-mgr]
        securityContext: {privileged: false, capabilities: {add: [NET_ADMIN, NET_RAW]}}
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        volumeMounts: [{name: run, mountPath: /run/flannel}, {name: cfg, mountPath: /etc/kube-flannel/}, {name: xtables-lock, mountPath: /run/xtables.lock}]
      volumes:
      - {name: run, hostPath: {path: /run/flannel}}
      - {name: cni-plugin, hostPath: {path: /opt/cni/bin}}
      - {name: cni, hostPath: {path: /etc/cni/net.d}}
      - {name: cfg, configMap: {name: kube-flannel-cfg}}
      - {name: xtables-lock, hostPath: {path: /run/xtables.lock, type: FileOrCreate}}
`;
}

function dnsProbePod(image: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: harness-dns-probe, namespace: default}
spec:
  nodeName: worker1
  restartPolicy: Never
  containers:
  - name: probe
    image: ${image}
    imagePullPolicy: Never
    command: [nslookup, kubernetes.default.svc.cluster.local]
`;
}
