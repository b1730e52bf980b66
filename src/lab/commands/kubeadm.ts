// The practice lab's answers to the control-plane and workers stages' scripts (flows/control-plane/scripts.ts) and
// the board reset's. The boards stay coherent: preflight reads what the configure stage left (swap, cgroups) and
// the faults a trainer switched on; init leaves the files a real init leaves (also half-way, when the kubelet never
// gets healthy); join tokens are checked against the master's (kept as hashes only, with their expiry); a join
// needs the master's port 6443. Durations are realistic at BOARDKUBE_LAB_SPEED=1 (init ~90 s, a join ~30 s).
import { createHash, randomBytes } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { labPrivateFiles, type LabBoardData } from '../board.ts';
import { registerLabCommands, type LabCommand, type LabResult } from '../commands.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const INIT_CONFIG = '/var/lib/boardkube/kubeadm/init.yaml';
const ADMIN_CONF = '/etc/kubernetes/admin.conf';
const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';
const CA_CRT = '/etc/kubernetes/pki/ca.crt';
const MANIFESTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => `/etc/kubernetes/manifests/${c}.yaml`);

type Doc = Record<string, unknown>;

function fileOf(b: LabBoardData, path: string): string | undefined {
  return b.files[path] ?? labPrivateFiles(b).get(path);
}

/** The documents of a kubeadm config on the board, by kind. */
function configDocs(b: LabBoardData, path: string): Map<string, Doc> | undefined {
  const text = fileOf(b, path);
  if (text === undefined) return undefined;
  const docs = new Map<string, Doc>();
  for (const d of parseAllDocuments(text)) {
    const o = d.toJSON() as Doc | null;
    if (o && typeof o.kind === 'string') docs.set(o.kind, o);
  }
  return docs;
}

function noConfig(path: string): LabResult {
  return { code: 1, stderr: `failed to load config from file: open ${path}: no such file or directory`, ms: 200 };
}

function ignored(docs: Map<string, Doc>, kind: 'InitConfiguration' | 'JoinConfiguration'): Set<string> {
  const nr = (docs.get(kind)?.nodeRegistration ?? {}) as { ignorePreflightErrors?: string[] };
  return new Set((nr.ignorePreflightErrors ?? []).map((n) => n.toLowerCase()));
}

const swapOn = (b: LabBoardData) => b.faults.includes('swap-on') || !Array.isArray(b.facts.swap) || b.facts.swap.length > 0;
const cgroupV1 = (b: LabBoardData) => b.faults.includes('cgroup-v1') || b.facts.cgroup !== 'cgroup2fs';

/** kubeadm's preflight findings for this board: fatal ones as ERROR, those the config ignores as WARNING. */
function preflight(b: LabBoardData, skip: Set<string>, role: 'master' | 'worker'): { lines: string[]; fatal: boolean } {
  const found: Array<[string, string]> = [];
  if (swapOn(b)) found.push(['Swap', 'swap is supported for cgroup v2 only. To enable swap, set failSwapOn: false in the KubeletConfiguration; otherwise turn swap off']);
  if (role === 'master' && b.faults.includes('port-in-use')) found.push(['Port-6443', 'Port 6443 is in use']);
  if (cgroupV1(b)) found.push(['SystemVerification', 'cgroups v1 support is in maintenance mode: the kubelet refuses cgroup v1 from 1.35 (failCgroupV1); please migrate to cgroups v2']);
  if (role === 'master' && fileOf(b, MANIFESTS[1]!) !== undefined) found.push(['FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml', '/etc/kubernetes/manifests/kube-apiserver.yaml already exists']);
  if (role === 'worker' && fileOf(b, KUBELET_CONF) !== undefined) found.push(['FileAvailable--etc-kubernetes-kubelet.conf', '/etc/kubernetes/kubelet.conf already exists']);
  const lines = ['[preflight] Running pre-flight checks'];
  let fatal = false;
  const errors: string[] = [];
  for (const [name, message] of found) {
    if (skip.has(name.toLowerCase()) || skip.has('all')) lines.push(`\t[WARNING ${name}]: ${message}`);
    else {
      errors.push(`\t[ERROR ${name}]: ${message}`);
      fatal = true;
    }
  }
  if (fatal) lines.push('error execution phase preflight: [preflight] Some fatal errors occurred:', ...errors, '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`');
  return { lines, fatal };
}

/** The images `kubeadm config images list` prints for the config's version. */
function kubeadmImages(docs: Map<string, Doc>): string[] {
  const v = String(docs.get('ClusterConfiguration')?.kubernetesVersion ?? 'v1.37.2');
  const minor = Number(v.split('.')[1]);
  return [
    ...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'].map((c) => `registry.k8s.io/${c}:${v}`),
    `registry.k8s.io/coredns/coredns:v1.12.${minor >= 36 ? 4 : 1}`,
    `registry.k8s.io/pause:3.10.${minor >= 36 ? 2 : 1}`,
    `registry.k8s.io/etcd:3.6.${minor >= 36 ? 6 : 5}-0`,
  ];
}

function images(b: LabBoardData): string[] {
  return Array.isArray(b.facts.images) ? b.facts.images.filter((x): x is string => typeof x === 'string') : [];
}

function endpointOf(docs: Map<string, Doc>): string {
  return String(docs.get('ClusterConfiguration')?.controlPlaneEndpoint ?? '');
}

function labAdminConf(cluster: string, endpoint: string): string {
  // No usable credential: the lab's API answers the lab admin whatever the file holds.
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cluster}`,
    '  cluster:',
    `    server: https://${endpoint}`,
    `    certificate-authority-data: ${Buffer.from('practice lab CA').toString('base64')}`,
    'users:',
    '- name: kubernetes-admin',
    '  user:',
    `    client-certificate-data: ${Buffer.from('practice lab admin certificate').toString('base64')}`,
    `    client-key-data: ${Buffer.from('practice lab: no key').toString('base64')}`,
    'contexts:',
    `- name: kubernetes-admin@${cluster}`,
    '  context:',
    `    cluster: ${cluster}`,
    '    user: kubernetes-admin',
    `current-context: kubernetes-admin@${cluster}`,
    '',
  ].join('\n');
}

interface JoinTokenRecord {
  id: string;
  hash: string;
  expiresAt: number;
}

function tokens(master: LabBoardData): JoinTokenRecord[] {
  return Array.isArray(master.facts.joinTokens) ? (master.facts.joinTokens as unknown as JoinTokenRecord[]) : [];
}

const INIT_PHASE_LINES = [
  '[init] Using Kubernetes version VERSION',
  '[preflight] Running pre-flight checks',
  '[certs] Using certificateDir folder "/etc/kubernetes/pki"',
  '[certs] Generating "ca" certificate and key',
  '[kubeconfig] Writing "admin.conf" kubeconfig file',
  '[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"',
  '[control-plane] Creating static Pod manifest for "kube-apiserver"',
  '[kubelet-start] Starting the kubelet',
  '[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"',
  '[kubelet-check] The kubelet is healthy after 2.5s',
  '[control-plane-check] All control plane components are healthy after 61s',
  '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace',
  '[mark-control-plane] Marking the node NODE as control-plane',
  '[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles',
  '[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client certificate and key',
  '[addons] Applied essential addon: CoreDNS',
  '[addons] Applied essential addon: kube-proxy',
  '',
  'Your Kubernetes control-plane has initialized successfully!',
];

const KUBELET_NEVER_HEALTHY = [
  '[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s',
  '[kubelet-check] The kubelet is not healthy after 4m0.000s',
  '',
  'Unfortunately, an error has occurred, likely caused by:',
  '\t- The kubelet is not running',
  '\t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)',
  'error execution phase wait-control-plane: failed while waiting for the kubelet to start: The HTTP call equal to \'curl -sSL http://127.0.0.1:10248/healthz\' returned error: Get "http://127.0.0.1:10248/healthz": context deadline exceeded',
];

function resetBoard(b: LabBoardData): void {
  for (const path of Object.keys(b.files)) if (path.startsWith('/etc/kubernetes/') || path.startsWith('/etc/cni/net.d/') || path.startsWith('/var/lib/cni/')) delete b.files[path];
  for (const path of [...labPrivateFiles(b).keys()]) if (path.startsWith('/etc/kubernetes/')) labPrivateFiles(b).delete(path);
  delete b.facts.kubeadm;
  delete b.facts.joinTokens;
  b.facts.links = [];
  b.facts.kubeChains = 0;
}

const commands: LabCommand[] = [
  {
    name: 'prepare /var/lib/boardkube/kubeadm',
    match: /^set -eu\ninstall -d -m 0755 \/var\/lib\/boardkube\/kubeadm\n/,
    run: (b) => {
      for (const path of Object.keys(b.files)) if (path.startsWith('/var/lib/boardkube/kubeadm/patches/')) delete b.files[path];
      return { ms: 60 };
    },
  },
  {
    name: 'pull the images kubeadm lists (crictl inspecti / pull)',
    match: /kubeadm config images list --config '([^']+)'/,
    run: (b, m, script) => {
      const docs = configDocs(b, m[1]!);
      if (!docs) return noConfig(m[1]!);
      const extra = [...(/"\$images"((?: '[^']+')*) \|/.exec(script)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((x) => x[1]!);
      const want = [...kubeadmImages(docs), ...extra];
      const have = new Set(images(b));
      const check = script.includes('missing=1');
      const lines: string[] = [];
      let ms = 300;
      let missing = false;
      want.forEach((img, i) => {
        const at = `image ${i + 1}/${want.length}`;
        if (have.has(img)) return lines.push(`${at} present ${img}`);
        if (check) {
          missing = true;
          return lines.push(`${at} missing ${img}`);
        }
        lines.push(`${at} pulling ${img}`, `${at} pulled ${img}`);
        have.add(img);
        ms += 6000;
      });
      if (!check) b.facts.images = [...have];
      return { code: missing ? 1 : 0, stdout: lines.join('\n'), ms };
    },
  },
  {
    name: 'kubeadm init phase preflight',
    match: /kubeadm init phase preflight --config '([^']+)'/,
    run: (b, m) => {
      const docs = configDocs(b, m[1]!);
      if (!docs) return noConfig(m[1]!);
      const r = preflight(b, ignored(docs, 'InitConfiguration'), 'master');
      return { code: r.fatal ? 1 : 0, stdout: r.lines[0], stderr: r.lines.slice(1).join('\n'), ms: 4000 };
    },
  },
  {
    name: 'is the master initialised (admin.conf, /readyz)',
    match: /\[ -f \/etc\/kubernetes\/admin\.conf \] \|\| exit 3\nkubectl --kubeconfig \/etc\/kubernetes\/admin\.conf --request-timeout/,
    run: (b) => ({ code: fileOf(b, ADMIN_CONF) === undefined ? 3 : b.facts.kubeadm === 'master' ? 0 : 4, ms: 300 }),
  },
  {
    name: 'leftovers of a kubeadm init',
    match: /^set -u\nfound=""\nfor f in \/etc\/kubernetes\/manifests\/kube-apiserver\.yaml/,
    run: (b) => ({ stdout: `${[MANIFESTS[1]!, MANIFESTS[0]!].filter((f) => fileOf(b, f) !== undefined).join(' ')}\n`, ms: 100 }),
  },
  {
    name: 'kubeadm init',
    match: /kubeadm init --config '([^']+)' --skip-token-print/,
    run: (b, m) => {
      const docs = configDocs(b, m[1]!);
      if (!docs) return noConfig(m[1]!);
      const pre = preflight(b, ignored(docs, 'InitConfiguration'), 'master');
      if (pre.fatal) return { code: 1, stderr: pre.lines.join('\n'), ms: 4000 };
      const version = String(docs.get('ClusterConfiguration')?.kubernetesVersion ?? '');
      const lines = INIT_PHASE_LINES.map((l) => l.replace('VERSION', version).replace('NODE', b.node));
      const missing = kubeadmImages(docs).filter((i) => !images(b).includes(i));
      b.facts.images = [...new Set([...images(b), ...missing])];
      b.files[CA_CRT] = `-----BEGIN CERTIFICATE-----\n${randomBytes(48).toString('base64')}\n-----END CERTIFICATE-----\n`;
      for (const f of MANIFESTS) b.files[f] = `# static pod ${f}\n`;
      b.facts.kubeChains = 1;
      const cluster = String(docs.get('ClusterConfiguration')?.clusterName ?? 'kubernetes');
      b.files[ADMIN_CONF] = labAdminConf(cluster, endpointOf(docs));
      if (b.faults.includes('cgroup-driver-mismatch')) {
        return { code: 1, stdout: lines.slice(0, 9).join('\n'), stderr: KUBELET_NEVER_HEALTHY.join('\n'), ms: 30_000 + missing.length * 6000 };
      }
      b.files[KUBELET_CONF] = '# kubelet kubeconfig\n';
      b.facts.kubeadm = 'master';
      return { stdout: lines.join('\n'), ms: 90_000 + missing.length * 6000 };
    },
  },
  {
    name: 'kubeadm token create --print-join-command',
    match: /kubeadm token create --ttl (\d+)m /,
    run: (b, m) => {
      const docs = configDocs(b, INIT_CONFIG);
      if (b.facts.kubeadm !== 'master' || !docs) return { code: 1, stderr: 'failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory', ms: 300 };
      const token = `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`;
      // A master whose clock is a day ahead makes tokens that are expired for everyone else.
      const expiresAt = Date.now() + Number(m[1]) * 60_000 - (b.faults.includes('expired-token') ? 24 * 3600_000 : 0);
      b.facts.joinTokens = [...tokens(b).filter((t) => t.expiresAt > Date.now() - 3600_000), { id: token.split('.')[0]!, hash: sha256(token), expiresAt }] as unknown as LabBoardData['facts'][string];
      return { stdout: `kubeadm join ${endpointOf(docs)} --token ${token} --discovery-token-ca-cert-hash sha256:${sha256(b.files[CA_CRT] ?? '')} \n`, ms: 800 };
    },
  },
  {
    name: 'kubeadm join (then the config file is removed)',
    match: /kubeadm join --config '([^']+)'/,
    run: (b, m, _script, all) => {
      const docs = configDocs(b, m[1]!);
      // The script removes the file whatever the outcome.
      labPrivateFiles(b).delete(m[1]!);
      delete b.files[m[1]!];
      if (!docs) return noConfig(m[1]!);
      const pre = preflight(b, ignored(docs, 'JoinConfiguration'), 'worker');
      if (pre.fatal) return { code: 1, stderr: pre.lines.join('\n'), ms: 3000 };
      const bt = ((docs.get('JoinConfiguration')?.discovery as Doc | undefined)?.bootstrapToken ?? {}) as { apiServerEndpoint?: string; token?: string; caCertHashes?: string[] };
      const endpoint = bt.apiServerEndpoint ?? '';
      const master = all.find((o) => o.facts.kubeadm === 'master');
      if (b.faults.includes('api-unreachable') || !master || master.faults.includes('unreachable')) {
        const why = b.faults.includes('api-unreachable') ? 'i/o timeout' : 'connect: connection refused';
        return { code: 1, stdout: pre.lines.join('\n'), stderr: `error execution phase preflight: couldn't validate the identity of the API Server: Get "https://${endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": dial tcp ${endpoint}: ${why}`, ms: 120_000 };
      }
      const token = bt.token ?? '';
      const rec = tokens(master).find((t) => t.hash === sha256(token));
      if (!rec || rec.expiresAt <= Date.now()) {
        return { code: 1, stdout: pre.lines.join('\n'), stderr: `[discovery] The cluster-info ConfigMap does not yet contain a JWS signature for token ID "${token.split('.')[0]}", will try again\nerror execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${token.split('.')[0]}"`, ms: 120_000 };
      }
      if (!(bt.caCertHashes ?? []).includes(`sha256:${sha256(master.files[CA_CRT] ?? '')}`)) {
        return { code: 1, stderr: 'error execution phase preflight: couldn\'t validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys are pinned', ms: 3000 };
      }
      if (b.faults.includes('cgroup-driver-mismatch')) return { code: 1, stdout: pre.lines.join('\n'), stderr: KUBELET_NEVER_HEALTHY.join('\n'), ms: 60_000 };
      b.files[KUBELET_CONF] = '# kubelet kubeconfig\n';
      b.files[CA_CRT] = master.files[CA_CRT] ?? '';
      b.facts.kubeadm = 'worker';
      b.facts.kubeChains = 1;
      return { stdout: [...pre.lines, '[kubelet-start] Starting the kubelet', '[kubelet-check] The kubelet is healthy after 1.5s', '[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap', '', 'This node has joined the cluster'].join('\n'), ms: 30_000 };
    },
  },
  {
    name: 'has this board joined (kubelet.conf)',
    match: /^test -f \/etc\/kubernetes\/kubelet\.conf\s*$/,
    run: (b) => ({ code: fileOf(b, KUBELET_CONF) === undefined ? 1 : 0, ms: 50 }),
  },
  {
    name: 'board reset (kubeadm reset -f and what it leaves behind)',
    match: /^# boardkube board reset\n/,
    run: (b) => {
      resetBoard(b);
      return { stdout: '[reset] Stopping the kubelet service\n[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]\nremoved CNI configuration, kube links and KUBE-/FLANNEL chains\nrestarted the container runtime', ms: 8000 };
    },
  },
];

registerLabCommands(commands);
