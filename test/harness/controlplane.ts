// A real Kubernetes control plane for integration tests: etcd + kube-apiserver + kube-controller-manager,
// built from the Go module proxy by test/testbin/build.sh and wired with the PKI and kubeconfigs that the
// real `kubeadm init phase certs/kubeconfig` writes, i.e. the same files a kubeadm master has.
// There is no kubelet and no scheduler: pods never run; a test that needs a finished Job writes its status.
//
// Everything lives in one temp dir (PKI, kubeconfigs, etcd data, one log file per component) that stop()
// removes. Ports are free loopback ports, so several control planes can run side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ControlPlane {
  /** admin.conf as kubeadm writes it (client cert of group kubeadm:cluster-admins, bound to cluster-admin), mode 0600. */
  kubeconfigPath: string;
  /** super-admin.conf (group system:masters): bypasses RBAC, like on a real kubeadm master. */
  superAdminKubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** Cluster CA (pki/ca.crt). */
  caFile: string;
  /** The kubeadm certificate dir (ca.crt, apiserver.crt, sa.key, etcd/..., front-proxy-...). */
  pkiDir: string;
  /** Folder with kube-apiserver, kube-controller-manager, kubeadm, kubectl, etcd. */
  binDir: string;
  /** Temp dir holding everything; removed by stop(). */
  dir: string;
  /** Log files of the components (appended across restarts). */
  logs: { etcd: string; apiserver: string; controllerManager: string };
  /** Kubernetes version the binaries report, e.g. "v1.37.2". */
  version: string;
  /** Stops every component and removes `dir` (kept if BOARDKUBE_KEEP_CONTROLPLANE=1). Safe to call twice. */
  stop(): Promise<void>;
  /** Stops only kube-apiserver (for "server down" tests); etcd and its data stay. */
  stopApiserver(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits until it is ready. */
  startApiserver(): Promise<void>;
}

export interface StartOptions {
  /** Folder with the binaries; default: the output of test/testbin/build.sh. */
  binDir?: string;
  /** How long to wait for each component to become ready (ms). Default 120 s. */
  readyTimeoutMs?: number;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD_SCRIPT = path.resolve(HERE, '../testbin/build.sh');
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubeadm', 'kubectl'] as const;
const SERVICE_CIDR = '10.96.0.0/12';
const NODE_NAME = 'boardkube-test';
// kubeadm refuses a loopback advertise address: it treats 127.0.0.1 as "pick a global unicast address found on
// lo" and fails with "unable to select an IP from lo network interface". So kubeadm gets a fixed TEST-NET-3
// address (RFC 5737, never routed) that only ends up in cert SANs and the node kubeconfigs; 127.0.0.1 is added
// as an extra SAN (etcd certs carry it by default), the kubeconfig servers are rewritten to 127.0.0.1:PORT and
// kube-apiserver itself runs with --advertise-address=127.0.0.1.
const KUBEADM_ADVERTISE_ADDRESS = '203.0.113.10';

let testbinPromise: Promise<string> | undefined;

/**
 * Folder holding the pinned binaries. Runs `bash test/testbin/build.sh` (instant when cached; honours
 * BOARDKUBE_K8S_VERSION and BOARDKUBE_TESTBIN_DIR). A cold build takes 15-30 min: run `npm run testbin` first.
 */
export function testbinDir(): Promise<string> {
  testbinPromise ??= new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop()?.trim() ?? '';
      if (code !== 0 || dir === '') {
        reject(new Error(`test/testbin/build.sh failed (exit ${code}); run \`npm run testbin\` to see why`));
        return;
      }
      resolve(dir);
    });
  });
  testbinPromise.catch(() => (testbinPromise = undefined));
  return testbinPromise;
}

/** A free TCP port on 127.0.0.1 (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Client credentials of a kubeadm-written kubeconfig (embedded *-data fields). */
export interface KubeconfigCredentials {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function readKubeconfigCredentials(kubeconfigPath: string): KubeconfigCredentials {
  const text = fs.readFileSync(kubeconfigPath, 'utf8');
  const field = (name: string): string => {
    const m = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(text);
    if (!m?.[1]) throw new Error(`${kubeconfigPath}: no ${name}`);
    return m[1];
  };
  const b64 = (name: string) => Buffer.from(field(name), 'base64');
  return {
    server: field('server'),
    ca: b64('certificate-authority-data'),
    cert: b64('client-certificate-data'),
    key: b64('client-key-data'),
  };
}

export interface ApiResponse {
  status: number;
  body: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

/** One HTTPS request to the apiserver with the client cert of a kubeconfig (default: admin.conf). */
export function apiRequest(
  cp: Pick<ControlPlane, 'kubeconfigPath'> | string,
  method: string,
  urlPath: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<ApiResponse> {
  const creds = readKubeconfigCredentials(typeof cp === 'string' ? cp : cp.kubeconfigPath);
  const url = new URL(urlPath, creds.server);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
        agent: false,
        timeout: timeoutMs,
        headers: {
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// ------------------------------------------------------------------------------------------ processes

interface Component {
  name: string;
  bin: string;
  args: string[];
  log: string;
  child?: ChildProcess;
  exited?: Promise<void>;
  exitInfo?: string;
}

const running = new Set<Component>();
const liveDirs = new Set<string>();
/** BOARDKUBE_KEEP_CONTROLPLANE=1 keeps the temp dir (logs, PKI, etcd data) after stop() or a failed start. */
const KEEP = process.env.BOARDKUBE_KEEP_CONTROLPLANE === '1';

function removeDir(dir: string): void {
  liveDirs.delete(dir);
  if (KEEP) {
    process.stderr.write(`controlplane: keeping ${dir} (BOARDKUBE_KEEP_CONTROLPLANE=1)\n`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the test process dies without stop(), do not leave apiservers behind.
  process.on('exit', () => {
    for (const c of running) killGroup(c, 'SIGKILL');
    if (!KEEP) for (const d of liveDirs) fs.rmSync(d, { recursive: true, force: true });
  });
}

function killGroup(c: Component, signal: NodeJS.Signals): void {
  const pid = c.child?.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function startComponent(c: Component): void {
  installExitHook();
  const fd = fs.openSync(c.log, 'a');
  fs.writeSync(fd, `\n==== ${new Date().toISOString()} ${c.bin} ${c.args.join(' ')}\n`);
  const child = spawn(c.bin, c.args, { stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  c.child = child;
  c.exitInfo = undefined;
  running.add(c);
  c.exited = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      c.exitInfo = `could not start: ${err.message}`;
      running.delete(c);
      resolve();
    });
    child.on('exit', (code, signal) => {
      c.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
      running.delete(c);
      resolve();
    });
  });
}

async function stopComponent(c: Component, graceMs = 10_000): Promise<void> {
  if (!c.child || !c.exited) return;
  if (c.exitInfo === undefined) {
    killGroup(c, 'SIGTERM');
    const timer = setTimeout(() => killGroup(c, 'SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(timer);
  }
  c.child = undefined;
  c.exited = undefined;
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; throws with the component's log tail on timeout or exit. */
async function waitFor(c: Component, what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (c.exitInfo !== undefined) {
      throw new Error(`${c.name} ${c.exitInfo} while waiting for ${what}; last lines of ${c.log}:\n${tail(c.log)}`);
    }
    try {
      if (await check()) return;
      lastError = '';
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}` +
          (lastError ? ` (last error: ${lastError})` : '') +
          `; last lines of ${c.log}:\n${tail(c.log)}`,
      );
    }
    await sleep(250);
  }
}

function run(bin: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed (exit ${code}):\n${out}`)),
    );
  });
}

/** GET over TLS with the given client credentials, without a kubeconfig file (used for probes). */
function probe(url: string, creds: { ca: Buffer; cert: Buffer; key: Buffer }, rejectUnauthorized = true): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: creds.ca, cert: creds.cert, key: creds.key, agent: false, timeout: 5000, rejectUnauthorized },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

// ------------------------------------------------------------------------------------------ control plane

function kubeadmConfig(version: string, pkiDir: string, apiserverPort: number): string {
  return `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: ${KUBEADM_ADVERTISE_ADDRESS}
  bindPort: ${apiserverPort}
nodeRegistration:
  name: ${NODE_NAME}
  criSocket: unix:///var/run/crio/crio.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${version}
clusterName: kubernetes
certificatesDir: ${pkiDir}
controlPlaneEndpoint: 127.0.0.1:${apiserverPort}
apiServer:
  certSANs: [127.0.0.1, localhost]
networking:
  serviceSubnet: ${SERVICE_CIDR}
  dnsDomain: cluster.local
`;
}

/** Starts etcd, kube-apiserver and kube-controller-manager; resolves once the default ServiceAccount exists. */
export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastErr = err;
      // Free ports are picked before the components bind them; another process may win the race.
      if (!(err instanceof Error && /address already in use/i.test(err.message))) throw err;
    }
  }
  throw lastErr;
}

async function startOnce(opts: StartOptions): Promise<ControlPlane> {
  const binDir = opts.binDir ?? (await testbinDir());
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  for (const b of BINARIES) {
    if (!fs.existsSync(path.join(binDir, b))) throw new Error(`${binDir}/${b} is missing; run \`npm run testbin\``);
  }
  const bin = (b: (typeof BINARIES)[number]) => path.join(binDir, b);
  const version = (await run(bin('kubeadm'), ['version', '-o', 'short'])).trim();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boardkube-cp-'));
  liveDirs.add(dir);
  const pkiDir = path.join(dir, 'pki');
  const kubeconfigDir = path.join(dir, 'kubeconfig');
  fs.mkdirSync(kubeconfigDir, { recursive: true });
  const components: Component[] = [];

  const stopAll = async () => {
    for (const c of [...components].reverse()) await stopComponent(c);
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiserverPort, kcmPort] = await distinctFreePorts(4);
    const server = `https://127.0.0.1:${apiserverPort}`;

    // PKI and kubeconfigs from the real kubeadm phases.
    const cfg = path.join(dir, 'kubeadm.yaml');
    fs.writeFileSync(cfg, kubeadmConfig(version, pkiDir, apiserverPort));
    await run(bin('kubeadm'), ['init', 'phase', 'certs', 'all', '--config', cfg]);
    await run(bin('kubeadm'), ['init', 'phase', 'kubeconfig', 'all', '--config', cfg, '--kubeconfig-dir', kubeconfigDir]);
    const kubeconfigPath = path.join(kubeconfigDir, 'admin.conf');
    const superAdminKubeconfigPath = path.join(kubeconfigDir, 'super-admin.conf');
    const kcmKubeconfig = path.join(kubeconfigDir, 'controller-manager.conf');
    for (const f of fs.readdirSync(kubeconfigDir)) {
      const p = path.join(kubeconfigDir, f);
      // admin/super-admin use controlPlaneEndpoint (already right); the node-local ones (controller-manager,
      // scheduler, kubelet) name the advertise address, which nothing listens on here.
      fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace(/^(\s*server:\s*).*$/m, `$1${server}`), { mode: 0o600 });
      fs.chmodSync(p, 0o600);
    }
    const pki = (f: string) => path.join(pkiDir, f);

    const logs = {
      etcd: path.join(dir, 'etcd.log'),
      apiserver: path.join(dir, 'kube-apiserver.log'),
      controllerManager: path.join(dir, 'kube-controller-manager.log'),
    };

    // etcd with the kubeadm etcd certs, as in kubeadm's static pod.
    const etcdUrl = `https://127.0.0.1:${etcdClientPort}`;
    const etcd: Component = {
      name: 'etcd',
      bin: bin('etcd'),
      log: logs.etcd,
      args: [
        `--name=${NODE_NAME}`,
        `--data-dir=${path.join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=https://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=https://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=${NODE_NAME}=https://127.0.0.1:${etcdPeerPort}`,
        '--listen-metrics-urls=',
        `--cert-file=${pki('etcd/server.crt')}`,
        `--key-file=${pki('etcd/server.key')}`,
        `--trusted-ca-file=${pki('etcd/ca.crt')}`,
        '--client-cert-auth=true',
        `--peer-cert-file=${pki('etcd/peer.crt')}`,
        `--peer-key-file=${pki('etcd/peer.key')}`,
        `--peer-trusted-ca-file=${pki('etcd/ca.crt')}`,
        '--peer-client-cert-auth=true',
        '--snapshot-count=10000',
        '--unsafe-no-fsync=true', // test data only; much faster on slow disks
        '--log-level=warn',
      ],
    };
    components.push(etcd);
    startComponent(etcd);
    const etcdCreds = {
      ca: fs.readFileSync(pki('etcd/ca.crt')),
      cert: fs.readFileSync(pki('etcd/healthcheck-client.crt')),
      key: fs.readFileSync(pki('etcd/healthcheck-client.key')),
    };
    await waitFor(etcd, 'etcd /health', readyTimeoutMs, async () => (await probe(`${etcdUrl}/health`, etcdCreds)) === 200);

    // kube-apiserver with the flags of kubeadm's static pod manifest.
    const apiserver: Component = {
      name: 'kube-apiserver',
      bin: bin('kube-apiserver'),
      log: logs.apiserver,
      args: [
        '--advertise-address=127.0.0.1',
        '--bind-address=127.0.0.1',
        `--secure-port=${apiserverPort}`,
        '--allow-privileged=true',
        '--authorization-mode=Node,RBAC',
        `--client-ca-file=${pki('ca.crt')}`,
        '--enable-admission-plugins=NodeRestriction',
        '--enable-bootstrap-token-auth=true',
        `--etcd-servers=${etcdUrl}`,
        `--etcd-cafile=${pki('etcd/ca.crt')}`,
        `--etcd-certfile=${pki('apiserver-etcd-client.crt')}`,
        `--etcd-keyfile=${pki('apiserver-etcd-client.key')}`,
        `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
        `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
        '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
        `--proxy-client-cert-file=${pki('front-proxy-client.crt')}`,
        `--proxy-client-key-file=${pki('front-proxy-client.key')}`,
        '--requestheader-allowed-names=front-proxy-client',
        `--requestheader-client-ca-file=${pki('front-proxy-ca.crt')}`,
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-username-headers=X-Remote-User',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
        // 127.0.0.1 may not be an Endpoints address; without this the apiserver logs that error every 10 s.
        '--endpoint-reconciler-type=none',
      ],
    };
    components.push(apiserver);
    const superCreds = readKubeconfigCredentials(superAdminKubeconfigPath);
    const startApiserverNow = async () => {
      startComponent(apiserver);
      await waitFor(apiserver, 'kube-apiserver /readyz', readyTimeoutMs, async () => (await probe(`${server}/readyz`, superCreds)) === 200);
    };
    await startApiserverNow();

    // kubeadm's "bootstrap-token"/"upload-config" phases bind group kubeadm:cluster-admins (admin.conf) to
    // cluster-admin using super-admin.conf; do the same so admin.conf works as on a real master.
    const crb = await apiRequest(superAdminKubeconfigPath, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:cluster-admins' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
    });
    if (crb.status !== 201 && crb.status !== 409) {
      throw new Error(`creating ClusterRoleBinding kubeadm:cluster-admins failed: ${crb.status} ${crb.body}`);
    }

    // kube-controller-manager with the flags of kubeadm's static pod manifest (no leader election here).
    const controllerManager: Component = {
      name: 'kube-controller-manager',
      bin: bin('kube-controller-manager'),
      log: logs.controllerManager,
      args: [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${path.join(dir, 'kcm-certs')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        '--cluster-name=kubernetes',
        `--cluster-signing-cert-file=${pki('ca.crt')}`,
        `--cluster-signing-key-file=${pki('ca.key')}`,
        '--controllers=*,bootstrapsigner,tokencleaner',
        '--leader-elect=false',
        `--requestheader-client-ca-file=${pki('front-proxy-ca.crt')}`,
        `--root-ca-file=${pki('ca.crt')}`,
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--use-service-account-credentials=true',
      ],
    };
    components.push(controllerManager);
    startComponent(controllerManager);
    await waitFor(
      controllerManager,
      'kube-controller-manager /healthz',
      readyTimeoutMs,
      async () => (await probe(`https://127.0.0.1:${kcmPort}/healthz`, superCreds, false)) === 200,
    );
    await waitFor(controllerManager, 'ServiceAccount default/default', readyTimeoutMs, async () => {
      const r = await apiRequest(kubeconfigPath, 'GET', '/api/v1/namespaces/default/serviceaccounts/default');
      return r.status === 200;
    });

    let stopped = false;
    return {
      kubeconfigPath,
      superAdminKubeconfigPath,
      server,
      caFile: pki('ca.crt'),
      pkiDir,
      binDir,
      dir,
      logs,
      version,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
        removeDir(dir);
      },
      async stopApiserver() {
        await stopComponent(apiserver);
      },
      async startApiserver() {
        if (apiserver.child && apiserver.exitInfo === undefined) return;
        await startApiserverNow();
      },
    };
  } catch (err) {
    await stopAll();
    // The error already carries the tail of the failing component's log; the dir goes away.
    removeDir(dir);
    throw err;
  }
}

async function distinctFreePorts(n: 4): Promise<[number, number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  const [a = 0, b = 0, c = 0, d = 0] = [...ports];
  return [a, b, c, d];
}
