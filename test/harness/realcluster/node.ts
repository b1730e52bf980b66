// One harness node: a network namespace on the harness LAN plus a private mount and UTS namespace, held open by a
// `sleep` (the "holder"), in which the node's own folders are bind mounts of DIR/root/... Inside run the node's own
// OpenSSH server (on the node's address, port 22, key login as root), containerd and the kubelet, the last two under
// the systemctl stand-in (systemctl.sh); Arch's update-ca-trust is a stand-in too (update-ca-trust.sh). Nothing is mounted in the machine's own mount namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprintOf } from '../sshd.ts';
import { createCgroupRoot, pidsInCgroupRoot, removeCgroupRootWhenEmpty } from './cgroups.ts';
import { GiveUp, ip, killAndWait, nsOf, pidsInNamespace, run, waitFor, type Output } from './exec.ts';
import type { Lan } from './lan.ts';
import { HARNESS_IGNORE_PREFLIGHT_ERRORS, writeKubeadmPatches } from './patches.ts';
import type { ClusterTestbin } from './testbin.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * Folders every node has of its own (bind mounts of DIR/root/<same path>). Whole trees rather than single folders
 * such as /etc/kubernetes, so that what a board reset does (`rm -rf /etc/kubernetes /var/lib/cni ...`) works as on
 * a board: a mount point could not be removed. /etc starts as a copy of this machine's; the others start empty.
 */
export const NODE_PRIVATE_DIRS = [
  '/etc',
  '/run',
  '/var/lib',
  '/var/log',
  '/opt',
  '/tmp',
  '/root',
  // The node's programs: kubeadm, kubelet, kubectl, containerd, ctr, runc, crictl, the systemctl and update-ca-trust stand-ins,
  // first on the default PATH (the machine's own /usr/local/sbin is empty).
  '/usr/local/sbin',
];

/** A login's PATH on the node (Debian sshd's default): the node's programs in /usr/local/sbin come first. */
const NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Debian's CNI plugins (containernetworking-plugins), which the node's /opt/cni/bin starts with, as on a board. */
const CNI_PLUGINS = '/usr/lib/cni';

export interface NodeOptions {
  /** The node's name: its hostname and Kubernetes node name ([a-z0-9-], at most 20 characters). */
  name: string;
  /** Its address on the harness LAN (10.250.N.2 .. 10.250.N.253); default: the next free one from .10. */
  address?: string;
  /** Import the container images (default true). */
  images?: boolean;
}

export interface HarnessNode {
  name: string;
  address: string;
  /** sshd listens on address:port inside the node. */
  port: number;
  user: 'root';
  /** The cluster's client key (no passphrase) that every node authorizes; `${clientKeyPath}.pub` exists. */
  clientKeyPath: string;
  /** "SHA256:..." of the node's ed25519 host key. */
  hostKeyFingerprint: string;
  hostKeyPubPath: string;
  /** The node's kubelet cgroupRoot ("/harness-N-NAME"), created in every cgroup v1 hierarchy. */
  cgroupRoot: string;
  /** This node's kubeadm patches folder (writeKubeadmPatches), for patches.directory or `--patches` (no --config). */
  patchesDir: string;
  /** What this machine needs in `kubeadm ... --ignore-preflight-errors`. */
  ignorePreflightErrors: readonly string[];
  /** The node's folder on this machine (root/ holds the sources of its private mounts; standin/ the unit logs). */
  dir: string;
  netns: string;
  /** Runs a command inside the node's namespaces directly (not over SSH): for test setup and diagnostics. */
  exec(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Output>;
  /** Runs COMMAND over real SSH (OpenSSH client, the cluster's key, host key checked). */
  ssh(command: string, opts?: { input?: string; timeoutMs?: number }): Promise<Output>;
  /** The last lines of the node's kubelet, containerd and sshd logs, for failure messages. */
  logs(lines?: number): string;
  /** The node's processes now: those in its mount or network namespace or its cgroup root (pods included). */
  pids(): number[];
  /** Ends every process of the node by PID, then its cgroups and namespaces. Safe twice. */
  stop(): Promise<void>;
}

export interface NodeContext {
  lan: Lan;
  testbin: ClusterTestbin;
  /** The cluster's folder; the node gets DIR/nodes/NAME. */
  dir: string;
  clientKeyPath: string;
  knownHostsPath: string;
  /** Port name on the bridge (unique per cluster). */
  lanPort: string;
  sandboxImage: string;
}

export async function startNode(ctx: NodeContext, opts: NodeOptions & { address: string }): Promise<HarnessNode> {
  const { name, address } = opts;
  const dir = path.join(ctx.dir, 'nodes', name);
  const root = path.join(dir, 'root');
  const standin = path.join(dir, 'standin');
  const netns = `harness-${ctx.lan.n}-${name}`;
  const cgroupName = `harness-${ctx.lan.n}-${name}`;
  const sshdLog = path.join(dir, 'sshd.log');
  let holder = 0;
  // The node's namespaces, recorded while they surely are the node's (a PID can be reused after its process died).
  let mntNs: string | undefined;
  let netNs: string | undefined;
  let sshd: ChildProcess | undefined;
  let stopped = false;

  // The node's own PATH, as its sshd gives a login (/usr/local/sbin first): the test process's PATH may put
  // /usr/bin first, where Debian's real systemctl (which cannot run here) would shadow the node's stand-in.
  const exec = (args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<Output> =>
    run('nsenter', ['-t', String(holder), '-n', '-m', '-u', '--', 'env', `PATH=${NODE_PATH}`, ...args], o);

  const node: HarnessNode = {
    name,
    address,
    port: 22,
    user: 'root',
    clientKeyPath: ctx.clientKeyPath,
    hostKeyFingerprint: '',
    hostKeyPubPath: path.join(dir, 'ssh_host_ed25519_key.pub'),
    cgroupRoot: `/${cgroupName}`,
    patchesDir: path.join(dir, 'patches'),
    ignorePreflightErrors: HARNESS_IGNORE_PREFLIGHT_ERRORS,
    dir,
    netns,
    exec,
    ssh: (command, o = {}) =>
      run(
        'ssh',
        [
          '-i', ctx.clientKeyPath, '-p', '22', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
          '-o', `UserKnownHostsFile=${ctx.knownHostsPath}`, '-o', 'ConnectTimeout=10', `root@${address}`, command,
        ],
        o,
      ),
    logs: (lines = 40) =>
      ['kubelet', 'containerd']
        .map((u) => `--- ${name} ${u}:\n${tail(path.join(standin, `${u}.log`), lines)}`)
        .concat(`--- ${name} sshd:\n${tail(sshdLog, 10)}`)
        .join('\n'),
    pids() {
      const pids = new Set<number>(pidsInCgroupRoot(cgroupName));
      if (mntNs) for (const p of pidsInNamespace('mnt', mntNs)) pids.add(p);
      if (netNs) for (const p of pidsInNamespace('net', netNs)) pids.add(p);
      if (sshd?.pid && sshd.exitCode === null && sshd.signalCode === null) pids.add(sshd.pid);
      return [...pids];
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (let pass = 0; pass < 3; pass++) {
        const victims = node.pids();
        if (victims.length === 0) break;
        await killAndWait(victims);
      }
      await removeCgroupRootWhenEmpty(cgroupName, killAndWait);
      await ip('netns', 'del', netns).catch(() => {});
    },
  };

  try {
    for (const d of NODE_PRIVATE_DIRS) fs.mkdirSync(path.join(root, d), { recursive: true });
    await run('cp', ['-a', '/etc/.', path.join(root, 'etc')]);
    // A board after the packages stage: no cluster configuration yet, whatever this machine has.
    for (const d of ['etc/kubernetes', 'etc/cni']) fs.rmSync(path.join(root, d), { recursive: true, force: true });
    for (const d of ['etc/cni/net.d', 'opt/cni/bin', 'run/sshd']) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.mkdirSync(standin, { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/resolv.conf'), `nameserver ${ctx.lan.gateway}\n`);
    fs.writeFileSync(path.join(root, 'etc/hostname'), `${name}\n`);
    fs.writeFileSync(path.join(root, 'etc/machine-id'), `${crypto.randomBytes(16).toString('hex')}\n`);
    fs.writeFileSync(path.join(root, 'etc/hosts'), `127.0.0.1 localhost\n::1 localhost\n${address} ${name}\n`);
    for (const plugin of fs.readdirSync(CNI_PLUGINS)) fs.copyFileSync(path.join(CNI_PLUGINS, plugin), path.join(root, 'opt/cni/bin', plugin));
    fs.chmodSync(path.join(root, 'opt/cni/bin'), 0o755);
    fs.chmodSync(path.join(root, 'tmp'), 0o1777);
    fs.chmodSync(path.join(root, 'root'), 0o700);
    installPrograms(path.join(root, 'usr/local/sbin'), ctx.testbin, standin, path.join(dir, 'containerd.toml'));
    fs.writeFileSync(
      path.join(dir, 'containerd.toml'),
      fs.readFileSync(path.join(HERE, 'containerd.toml'), 'utf8').replaceAll('@SANDBOX_IMAGE@', ctx.sandboxImage),
    );

    await ip('netns', 'add', netns);
    netNs = ownNamespace('net', netnsIdentity(netns));
    await ctx.lan.attach(netns, ctx.lanPort, address);
    // Forwarding and bridged traffic through iptables are per network namespace: set as the configure stage does.
    await run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']);

    holder = await startHolder(netns, name, root, dir);
    mntNs = ownNamespace('mnt', nsOf(holder, 'mnt'));
    createCgroupRoot(cgroupName);
    writeKubeadmPatches(node.patchesDir, { cgroupRoot: node.cgroupRoot });

    sshd = await startSshd(node, holder, sshdLog);
    node.hostKeyFingerprint = await fingerprintOf(node.hostKeyPubPath);
    fs.appendFileSync(ctx.knownHostsPath, `${address} ${fs.readFileSync(node.hostKeyPubPath, 'utf8').trim()}\n`);

    await exec(['systemctl', 'enable', '--now', 'containerd']);
    await waitFor(`containerd on ${name}`, 30_000, async () => (await exec(['ctr', 'version'])).stdout.includes('Server:'));
    if (opts.images !== false) {
      await importImages(ctx.testbin.nodeBinaries.ctr!, path.join(root, 'run/containerd/containerd.sock'), ctx.testbin.images);
    }
    // As after the packages stage on a board: the kubelet is enabled and waits for kubeadm's files.
    await exec(['systemctl', 'enable', '--now', 'kubelet']);
    return node;
  } catch (err) {
    const logs = holder ? node.logs(20) : '';
    await node.stop();
    throw new Error(`node ${name} did not start: ${(err as Error).message}\n${logs}`);
  }
}

/** A namespace of the node, never this process's own (whose processes are the whole machine's). */
function ownNamespace(kind: 'mnt' | 'net', ns: string | undefined): string {
  if (!ns || ns === nsOf(process.pid, kind)) throw new Error(`could not tell the node's ${kind} namespace from this machine's`);
  return ns;
}

/** The identity string of a named network namespace ("net:[INODE]"), from its bind-mounted file. */
function netnsIdentity(netns: string): string | undefined {
  try {
    return `net:[${fs.statSync(`/run/netns/${netns}`).ino}]`;
  } catch {
    return undefined;
  }
}

/**
 * The node's PATH folder: the harness's binaries and the systemctl stand-in. Hard links into the testbin cache (a
 * copy across filesystems): the cache is under this machine's /root, which the node does not see.
 */
function installPrograms(sbin: string, testbin: ClusterTestbin, standin: string, containerdConfig: string): void {
  for (const [name, file] of Object.entries(testbin.nodeBinaries)) {
    try {
      fs.linkSync(file, path.join(sbin, name));
    } catch {
      fs.copyFileSync(file, path.join(sbin, name));
      fs.chmodSync(path.join(sbin, name), 0o755);
    }
  }
  const standIn = fs
    .readFileSync(path.join(HERE, 'systemctl.sh'), 'utf8')
    .replaceAll('@STATE@', standin)
    .replaceAll('@CONTAINERD_CONFIG@', containerdConfig);
  fs.writeFileSync(path.join(sbin, 'systemctl'), standIn, { mode: 0o755 });
  // Arch's update-ca-trust, which the registry stage runs and Debian lacks: a stand-in too (update-ca-trust.sh).
  fs.copyFileSync(path.join(HERE, 'update-ca-trust.sh'), path.join(sbin, 'update-ca-trust'));
  fs.chmodSync(path.join(sbin, 'update-ca-trust'), 0o755);
}

/**
 * Starts the process that holds the node's namespaces: it enters the node's netns, unshares a mount namespace
 * (slave: the machine's later mounts still show, the node's never leak out) and a UTS namespace, mounts the node's
 * folders and files over the shared ones, and sleeps. Returns its PID once the mounts are in place.
 */
async function startHolder(netns: string, name: string, root: string, dir: string): Promise<number> {
  const ready = path.join(dir, 'holder.ready');
  const mounts = NODE_PRIVATE_DIRS.map((p) => `mount --bind '${root}${p}' '${p}'`);
  const script = ['set -e', `hostname '${name}'`, ...mounts, `touch '${ready}'`, 'exec sleep infinity'].join('\n');
  const log = fs.openSync(path.join(dir, 'holder.log'), 'a');
  const child = spawn(
    'nsenter',
    [`--net=/run/netns/${netns}`, '--', 'unshare', '--mount', '--propagation', 'slave', '--uts', '--', 'sh', '-c', script],
    { detached: true, stdio: ['ignore', 'ignore', log] },
  );
  fs.closeSync(log);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error('could not start the namespace holder');
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited (${code ?? signal}): ${tail(path.join(dir, 'holder.log'), 10)}`));
  await waitFor(`the namespaces of ${name}`, 10_000, () => {
    if (exited) throw new GiveUp(`the namespace holder ${exited}`);
    return fs.existsSync(ready);
  });
  return pid;
}

async function startSshd(node: HarnessNode, holder: number, logPath: string): Promise<ChildProcess> {
  const hostKey = node.hostKeyPubPath.replace(/\.pub$/, '');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `harness-${node.name}`, '-f', hostKey]);
  const authorized = path.join(node.dir, 'authorized_keys');
  fs.copyFileSync(`${node.clientKeyPath}.pub`, authorized);
  const conf = path.join(node.dir, 'sshd_config');
  fs.writeFileSync(
    conf,
    [
      `ListenAddress ${node.address}`,
      'Port 22',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(node.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowUsers root',
      'Subsystem sftp internal-sftp',
      'MaxStartups 100',
      'MaxSessions 100',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(logPath, '');
  const log = fs.openSync(logPath, 'a');
  const child = spawn('nsenter', ['-t', String(holder), '-n', '-m', '-u', '--', '/usr/sbin/sshd', '-D', '-e', '-f', conf], {
    stdio: ['ignore', 'ignore', log],
  });
  fs.closeSync(log);
  await waitFor(`sshd of ${node.name} on ${node.address}:22`, 10_000, () => {
    if (child.exitCode !== null) throw new GiveUp(`sshd exited: ${tail(logPath, 20)}`);
    return fs.readFileSync(logPath, 'utf8').includes(`Server listening on ${node.address} port 22`);
  });
  return child;
}

/**
 * Imports the image tars into the node's containerd (namespace k8s.io, where the kubelet looks), three at a time.
 * ctr runs here, talking to the node's socket through its path on this machine: the tars are in the testbin cache.
 */
async function importImages(ctr: string, socket: string, images: ClusterTestbin['images']): Promise<void> {
  const queue = images.map((i) => i.tar);
  const worker = async () => {
    for (let tar = queue.shift(); tar; tar = queue.shift()) {
      await run(ctr, ['--address', socket, '-n', 'k8s.io', 'images', 'import', tar], { timeoutMs: 300_000 });
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}
