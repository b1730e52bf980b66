// A test board that configure's scripts can change for real: a real OpenSSH server (test/harness/sshd.ts) logged in
// as an ordinary user with sudo, started in its own mount and UTS namespace with its own /etc (a copy made to look
// like a fresh Arch Linux ARM card), /run (a tmpfs, empty after every boot), /boot (a partition of a loop device,
// as on a card), pacman database and cache, /usr/share/keyrings and /usr/lib/modules. The scripts run as shipped,
// without a root prefix, and touch nothing of this machine's own system.
//
// Stand-ins for what this machine lacks (systemctl, timedatectl, hostnamectl, uname's aarch64) sit in /usr/local/bin
// inside the namespace only: see test/harness/standins/README.md. pacman installs from a local repository built
// with makepkg and repo-add (test/harness/alarm-repo.ts).
//
// "systemctl reboot" reboots the board: the harness kills every process of the namespace, starts the server in a
// fresh one (mounts and /run gone, a new boot id) and the boot brings up what the files say: the hostname from
// /etc/hostname, the enabled services, and cgroup v2 when U-Boot finds the mainline kernel and its boot script.
// This machine cannot load kernel modules (no /proc/modules): modprobe fails, so the kernel-settings step cannot
// pass here. /usr/lib/sysctl.d is empty inside the board, so a `sysctl --system` there applies only the board's
// /etc/sysctl.d (the net.* values of this machine's network namespace).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alarmRepo, type AlarmRepo } from './alarm-repo.ts';
import { startBoard, waitUntil, type Board } from './sshd.ts';

export interface SystemBoardOptions {
  sudo?: 'password' | 'nopasswd';
  sudoPassword?: string;
  /** /etc/machine-id of the fresh card; default this machine's (two boards: two cloned cards). */
  machineId?: string;
}

export interface SystemBoard extends Board {
  /** Where a file of the board (/etc/..., /var/lib/pacman/..., /usr/lib/modules/...) is on this machine. */
  path(boardPath: string): string;
  /** The loop device whose first partition is the board's /boot. */
  disk: string;
  /** How many times the board rebooted (systemctl reboot). */
  reboots(): number;
  /** Why the last reboot did not bring the board up (undefined: it did). */
  bootError(): string | undefined;
  /** The pacman repository the board installs from. */
  repo: AlarmRepo;
}

const STANDINS = path.join(import.meta.dirname, 'standins');

/** Mount points the board hides (its board lease too: boards never share one); the ones missing here are created (empty) once. */
const PRIVATE_DIRS = { '/var/lib/boardkube': 'boardkube-lease', '/var/cache/boardkube': 'boardkube-packages', '/var/lib/pacman': 'pacman-db', '/var/cache/pacman': 'pacman-cache', '/var/log': 'log', '/usr/share/keyrings': 'keyrings', '/usr/lib/modules': 'modules', '/usr/lib/sysctl.d': 'sysctl-vendor' } as const;

const ARCH_HOSTS = '# Static table lookup for hostnames.\n# See hosts(5) for details.\n127.0.0.1  localhost\n::1        localhost\n';
const ALARM_OS_RELEASE = 'NAME="Arch Linux ARM"\nPRETTY_NAME="Arch Linux ARM"\nID=archarm\nID_LIKE=arch\nBUILD_ID=rolling\nHOME_URL="https://archlinuxarm.org/"\n';
const ALARM_FSTAB = '# Static information about the filesystems.\n# See fstab(5) for details.\n\n# <file system> <dir> <type> <options> <dump> <pass>\n/dev/mmcblk0p1  /boot   vfat    defaults        0       0\n/swapfile       none    swap    defaults        0       0\n';

function sh(argv: string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A 64 MiB card: p1 (the /boot partition, ext4: this kernel has no vfat) from sector 4096, as on an N2 card. */
function bootDisk(dir: string): string {
  const image = path.join(dir, 'card.img');
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 64 * 1024 * 1024);
  const dev = sh(['losetup', '-f', '--show', '-P', image]).trim();
  sh(['sfdisk', '-q', dev], 'label: dos\nstart=4096, size=16384, type=83\nstart=20480, type=83\n');
  spawnSync('partx', ['-u', dev]);
  for (let i = 0; i < 200 && !fs.existsSync(`${dev}p1`); i++) sh(['sleep', '0.05']);
  sh(['mkfs.ext4', '-q', `${dev}p1`]);
  return dev;
}

function boardEtc(dir: string, repo: AlarmRepo, machineId: string): void {
  const etc = path.join(dir, 'etc');
  sh(['cp', '-a', '/etc', etc]);
  const put = (p: string, content: string, mode = 0o644) => {
    fs.rmSync(path.join(etc, p), { force: true });
    fs.writeFileSync(path.join(etc, p), content, { mode });
  };
  put('os-release', ALARM_OS_RELEASE);
  put('hostname', 'alarm\n');
  put('hosts', ARCH_HOSTS);
  put('fstab', ALARM_FSTAB);
  put('machine-id', `${machineId}\n`, 0o444);
  fs.rmSync(path.join(etc, 'localtime'), { force: true });
  fs.symlinkSync('../usr/share/zoneinfo/UTC', path.join(etc, 'localtime'));
  fs.rmSync(path.join(etc, 'pacman.d', 'gnupg'), { recursive: true, force: true });
  fs.rmSync(path.join(etc, 'sysctl.d', 'k8s.conf'), { force: true });
  fs.rmSync(path.join(etc, 'modules-load.d', 'k8s.conf'), { force: true });
  fs.rmSync(path.join(etc, 'systemd', 'zram-generator.conf'), { force: true });
  put('pacman.conf', `[options]\nHoldPkg = pacman glibc\nArchitecture = aarch64\nSigLevel = Required DatabaseOptional\nLocalFileSigLevel = Optional\n\n[core]\nServer = file://${repo.repoDir}\n`);
}

/** The board's boot, run as root in its fresh namespaces before sshd starts (then `exec "$@"` starts sshd). */
function bootScript(dir: string, disk: string, repo: AlarmRepo): string {
  const d = (p: string) => q(path.join(dir, p));
  return [
    'set -e',
    `mount --bind ${d('etc')} /etc`,
    'mount -t tmpfs -o mode=755 tmpfs /run',
    'mkdir -p /run/sshd /run/standin/active /run/standin-outside',
    `mount --bind ${d('outside')} /run/standin-outside`,
    `mount --bind ${d('standins')} /usr/local/bin`,
    ...Object.entries(PRIVATE_DIRS).map(([at, sub]) => `mount --bind ${d(sub)} ${at}`),
    `mount ${q(`${disk}p1`)} /boot`,
    `mount --bind ${d('boot_id')} /proc/sys/kernel/random/boot_id`,
    'hostname "$(cat /etc/hostname)"',
    // U-Boot finds the boot script and the mainline kernel: that kernel comes up with cgroup v2.
    'if [ -f /boot/boot.scr ] && grep -q mainline /boot/Image 2>/dev/null; then mount -t cgroup2 none /sys/fs/cgroup; fi',
    // systemd starts what is enabled.
    'for u in /etc/systemd/system/*.wants/*; do if [ -L "$u" ]; then date +%s > "/run/standin/active/${u##*/}"; fi; done',
    // The first boot of the card: the image's packages are installed already.
    `if [ ! -e ${d('imaged')} ]; then pacman -U --noconfirm --config ${d('pacman-image.conf')} ${q(repo.imageDir)}/*.pkg.tar.gz >&2; : > ${d('imaged')}; fi`,
    'exec "$@"',
  ].join('\n');
}

/** Processes in the namespace of the board's sshd (pacman-key leaves a gpg-agent that is nobody's child). */
function namespaceProcesses(board: Board): number[] {
  let ns: string;
  try {
    const pid = Number(fs.readFileSync(path.join(board.dir, 'sshd.pid'), 'utf8').trim());
    ns = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readlinkSync(`/proc/${e}/ns/mnt`) === ns) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export async function startSystemBoard(o: SystemBoardOptions = {}): Promise<SystemBoard> {
  const repo = alarmRepo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-sysboard-'));
  fs.chmodSync(dir, 0o755);
  for (const sub of ['outside', 'standins', ...Object.values(PRIVATE_DIRS)]) fs.mkdirSync(path.join(dir, sub));
  for (const f of fs.readdirSync(STANDINS).filter((f) => !f.endsWith('.md'))) fs.copyFileSync(path.join(STANDINS, f), path.join(dir, 'standins', f));
  for (const f of fs.readdirSync(path.join(dir, 'standins'))) fs.chmodSync(path.join(dir, 'standins', f), 0o755);
  fs.cpSync(repo.keyringDir, path.join(dir, 'keyrings'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'pacman-image.conf'), '[options]\nArchitecture = aarch64\nSigLevel = Never\n');
  for (const at of Object.keys(PRIVATE_DIRS)) fs.mkdirSync(at, { recursive: true });
  const disk = bootDisk(dir);
  const machineId = o.machineId ?? fs.readFileSync('/etc/machine-id', 'utf8').trim();
  let reboots = 0;
  let etcReady = false;
  let board: Board;
  try {
    board = await startBoard({
      sudo: o.sudo ?? 'nopasswd',
      sudoPassword: o.sudoPassword,
      readyTimeoutMs: 60_000,
      // The copy of /etc is made once the test user exists (its passwd line and sudoers drop-in are in it).
      beforeUp: () => {
        if (!etcReady) boardEtc(dir, repo, machineId);
        etcReady = true;
        fs.writeFileSync(path.join(dir, 'boot_id'), `${randomUUID()}\n`);
      },
      launch: (sshd) => ['unshare', '--mount', '--uts', '--propagation', 'private', '--', 'sh', '-c', bootScript(dir, disk, repo), 'board-boot', ...sshd],
    });
  } catch (e) {
    spawnSync('losetup', ['-d', disk]);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const flag = path.join(dir, 'outside', 'reboot');
  let rebooting: Promise<void> | undefined;
  let bootError: string | undefined;
  const watcher = setInterval(() => {
    if (rebooting || !fs.existsSync(flag)) return;
    fs.rmSync(flag, { force: true });
    rebooting = (async () => {
      // The board finishes answering the reboot command, then goes down: every process of the old boot ends.
      await new Promise((r) => setTimeout(r, 300));
      const old = namespaceProcesses(board);
      await board.down();
      killAll(old);
      await new Promise((r) => setTimeout(r, 500));
      await board.up();
      reboots++;
    })()
      .catch((e: Error) => {
        // The board stays down, as a board that does not boot; the reason is in its log.
        bootError = e.message;
        process.stderr.write(`system board ${board.address}: the reboot failed: ${e.message}\n`);
      })
      .finally(() => (rebooting = undefined));
  }, 100);
  const inner = board;
  const stop = async () => {
    clearInterval(watcher);
    await rebooting?.catch(() => {});
    const procs = namespaceProcesses(inner);
    await inner.stop();
    killAll(procs);
    await waitUntil(() => spawnSync('losetup', ['-d', disk]).status === 0 || !fs.existsSync(disk), 10_000, `losetup -d ${disk}`).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const where = (p: string): string => {
    if (p === '/etc' || p.startsWith('/etc/')) return path.join(dir, p);
    for (const [at, sub] of Object.entries(PRIVATE_DIRS)) if (p === at || p.startsWith(`${at}/`)) return path.join(dir, sub, p.slice(at.length));
    throw new Error(`${p} is not one of the board's own files seen from here (/etc, ${Object.keys(PRIVATE_DIRS).join(', ')}); read it over SSH`);
  };
  return {
    address: inner.address,
    port: inner.port,
    user: inner.user,
    sudoPassword: inner.sudoPassword,
    get hostKeyFingerprint() {
      return inner.hostKeyFingerprint;
    },
    hostKeyPubPath: inner.hostKeyPubPath,
    clientKeyPath: inner.clientKeyPath,
    dir: inner.dir,
    log: () => inner.log(),
    killConnections: () => inner.killConnections(),
    down: () => inner.down(),
    up: (x) => inner.up(x),
    restart: (x) => inner.restart(x),
    stop,
    path: where,
    disk,
    reboots: () => reboots,
    bootError: () => bootError,
    repo,
  };
}
