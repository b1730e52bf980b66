// The practice lab's answers to the configure stage's scripts (flows/configure/scripts.ts). Each simulator keeps
// the board coherent: what a step changes is what a later probe reads, a reboot brings up the kernel that was
// installed (if the boot script is there), and settings that do not survive a reboot are lost at the reboot.
// Durations are realistic at BOARDKUBE_LAB_SPEED=1: the whole stage takes about two minutes, the upgrade ~45 s.
// `root: true` marks the scripts that need root although the lab's generic rules (src/lab/commands.ts) cannot see
// it (they write through a variable such as f=/etc/hosts); the others are judged by those rules.
import { randomBytes, randomUUID } from 'node:crypto';
import type { LabBoardData } from '../board.ts';
import { registerLabCommands, type LabCommand, type LabResult } from '../commands.ts';

/** The kernel linux-aarch64 brings up in the lab. */
export const LAB_MAINLINE_KERNEL = '6.17.9-1-aarch64';
const LAB_REBOOT_MS = 45_000;
const ARCH_HOSTS = '# Static table lookup for hostnames.\n# See hosts(5) for details.\n127.0.0.1  localhost\n::1        localhost\n';
const ARCH_FSTAB = '# Static information about the filesystems.\n# See fstab(5) for details.\n\n# <file system> <dir> <type> <options> <dump> <pass>\n/dev/mmcblk0p1  /boot   vfat    defaults        0       0\n';
const ZRAM_CONF = '/etc/systemd/zram-generator.conf';

function str(b: LabBoardData, key: string, fallback = ''): string {
  const v = b.facts[key];
  return typeof v === 'string' ? v : fallback;
}

function list(b: LabBoardData, key: string, fallback: string[]): string[] {
  const v = b.facts[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : fallback;
}

function record(b: LabBoardData, key: string): Record<string, string> {
  const v = b.facts[key];
  return v && typeof v === 'object' && !Array.isArray(v) ? (Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string>) : {};
}

const unquote = (s: string) => s.replace(/^'(.*)'$/, '$1');

/** The board's clock (epoch s): 3 hours behind with the clock-skew fault. */
export function boardClock(b: LabBoardData): number {
  return Math.floor((Date.now() - (b.faults.includes('clock-skew') ? 3 * 3600_000 : 0)) / 1000);
}

/** Active swap: a fresh image swaps to zram (zram-generator) until the stage turns it off. */
function swapDevices(b: LabBoardData): string[] {
  return list(b, 'swap', ['/dev/zram0']);
}

export function bootId(b: LabBoardData): string {
  if (!str(b, 'bootId')) b.facts.bootId = randomUUID();
  return str(b, 'bootId');
}

/** The machine-id systemd made at first boot; with the duplicate-machine-id fault, the first other board's id (a cloned card). */
function machineId(b: LabBoardData, all: LabBoardData[]): string {
  if (b.faults.includes('duplicate-machine-id')) {
    if (b.facts.machineIdCloned !== true) {
      const twin = all.find((o) => o.node !== b.node);
      if (twin) b.facts.machineId = machineId(twin, []);
      b.facts.machineIdCloned = true;
    }
  } else delete b.facts.machineIdCloned;
  const id = str(b, 'machineId');
  b.files['/etc/machine-id'] = id ? `${id}\n` : '';
  return id;
}

/** What sysctl --system applies: every key = value line of /etc/sysctl.d/*.conf; bridge keys need br_netfilter. */
function applySysctl(b: LabBoardData): Record<string, string> {
  const modules = list(b, 'modules', []);
  const values: Record<string, string> = { 'net.ipv4.ip_forward': '0' };
  if (modules.includes('br_netfilter')) {
    values['net.bridge.bridge-nf-call-iptables'] = '0';
    values['net.bridge.bridge-nf-call-ip6tables'] = '0';
  }
  for (const [path, text] of Object.entries(b.files)) {
    if (!/^\/etc\/sysctl\.d\/[^/]+\.conf$/.test(path)) continue;
    for (const line of text.split('\n')) {
      const m = /^\s*([\w.-]+)\s*=\s*(\S+)\s*$/.exec(line);
      if (m && m[1]! in values) values[m[1]!] = m[2]!;
    }
  }
  b.facts.sysctl = values;
  return values;
}

function modulesFromConfig(b: LabBoardData): string[] {
  const text = b.files['/etc/modules-load.d/k8s.conf'] ?? '';
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

const UPGRADED = [
  'acl', 'archlinuxarm-keyring', 'bash', 'binutils', 'ca-certificates-mozilla', 'coreutils', 'curl', 'dbus', 'e2fsprogs', 'filesystem',
  'gawk', 'gcc-libs', 'glib2', 'glibc', 'gnupg', 'gnutls', 'iproute2', 'iptables-nft', 'kmod', 'krb5', 'libarchive', 'libelf', 'libseccomp',
  'linux-api-headers', 'linux-firmware', 'linux-odroid-n2', 'nettle', 'openssh', 'openssl', 'pacman', 'pacman-mirrorlist', 'procps-ng',
  'python', 'readline', 'sqlite', 'sudo', 'systemd', 'systemd-libs', 'systemd-sysvcompat', 'tzdata', 'uboot-odroid-n2', 'util-linux',
  'util-linux-libs', 'vim', 'xz', 'zlib', 'zstd',
];

function upgradeLines(kind: 'download' | 'install'): string {
  const n = UPGRADED.length;
  const width = String(n).length;
  const head = [':: Starting full system upgrade...', 'resolving dependencies...', 'looking for conflicting packages...', '', `Packages (${n}) ${UPGRADED.map((p) => `${p}-1-1`).join('  ')}`, '', 'Total Download Size:   412.37 MiB', 'Total Installed Size:  1586.02 MiB', 'Net Upgrade Size:        96.41 MiB', ''];
  if (kind === 'download') return [...head, ':: Retrieving packages...', ...UPGRADED.map((p) => ` ${p}-1-1-aarch64 downloading...`)].join('\n');
  const counter = (i: number) => `(${String(i).padStart(width)}/${n})`;
  return [
    ...head,
    `${counter(n)} checking keys in keyring`,
    `${counter(n)} checking package integrity`,
    `${counter(n)} loading package files`,
    `${counter(n)} checking for file conflicts`,
    `${counter(n)} checking available disk space`,
    ':: Processing package changes...',
    ...UPGRADED.map((p, i) => `${counter(i + 1)} upgrading ${p}`),
    ':: Running post-transaction hooks...',
    '(1/3) Reloading system manager configuration...',
    '(2/3) Updating module dependencies...',
    '(3/3) Arming ConditionNeedsUpdate...',
  ].join('\n');
}

function needsKeys(b: LabBoardData): LabResult | undefined {
  if (b.facts.pacmanKeys === true) return undefined;
  return { code: 1, stderr: 'error: keyring is not writable\nerror: required key missing from keyring\nerror: failed to commit transaction (unexpected error)', ms: 2000 };
}

const commands: LabCommand[] = [
  {
    name: 'resources probe (df, MemTotal, nproc)',
    match: /df -Pk \/ \| awk/,
    run: (b) => ({
      stdout: `disk_free_kib=${Math.round(Number(b.facts.diskFreeMiB ?? 26000) * 1024)}\nmem_total_kib=${Math.round(Number(b.facts.memoryMiB ?? 3700) * 1024)}\ncpus=${Number(b.facts.cpus ?? 6)}\n`,
      ms: 200,
    }),
  },
  {
    name: 'hostnamectl set-hostname',
    root: true,
    match: /hostnamectl set-hostname ('[^']*'|\S+)/,
    run: (b, m) => {
      const name = unquote(m[1]!);
      b.files['/etc/hostname'] = `${name}\n`;
      b.facts.hostname = name;
      return { ms: 300 };
    },
  },
  {
    name: '/etc/hosts block',
    root: true,
    match: /<<'BOARDKUBE_EOF'\n([\s\S]*?\n)BOARDKUBE_EOF/,
    run: (b, m) => {
      const block = m[1]!;
      const lines = (b.files['/etc/hosts'] ?? ARCH_HOSTS).split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      let skip = false;
      const kept = lines.filter((l) => {
        if (l.startsWith('# BEGIN boardkube')) skip = true;
        else if (l.startsWith('# END boardkube')) skip = false;
        else return !skip;
        return false;
      });
      const next = (kept.length ? `${kept.join('\n')}\n` : '') + block;
      const changed = next !== b.files['/etc/hosts'];
      b.files['/etc/hosts'] = next;
      return { stdout: changed ? 'updated /etc/hosts\n' : '', ms: 150 };
    },
  },
  {
    name: 'time zone link',
    root: true,
    match: /ln -sfn '?\.\.\/usr\/share\/zoneinfo\/([^'\s]+)'? /,
    run: (b, m) => {
      b.facts.localtime = `../usr/share/zoneinfo/${m[1]}`;
      return { ms: 100 };
    },
  },
  {
    name: 'identity probe (hostname, localtime, hosts)',
    match: /^echo '== hostname'/,
    run: (b) => ({
      stdout: `== hostname\n${b.files['/etc/hostname'] ?? ''}== running\n${str(b, 'hostname', (b.files['/etc/hostname'] ?? 'alarm').trim())}\n== localtime\n${str(b, 'localtime', '../usr/share/zoneinfo/UTC')}\n== hosts\n${b.files['/etc/hosts'] ?? ARCH_HOSTS}`,
      ms: 150,
    }),
  },
  {
    name: 'time sync on, wait for it',
    root: true,
    match: /systemctl enable --now systemd-timesyncd\.service/,
    run: (b) => {
      b.facts.timesync = true;
      // With the clock-skew fault the board cannot reach an NTP server: the wait runs out.
      const reachable = !b.faults.includes('clock-skew');
      return { stdout: `synchronized=${reachable ? 'yes' : 'no'}\n`, ms: reachable ? 2500 : 30_000 };
    },
  },
  {
    name: 'date +%s',
    match: /^\s*date \+%s\s*$/,
    run: (b) => ({ stdout: `${boardClock(b)}\n`, ms: 80 }),
  },
  {
    name: 'read /etc/machine-id',
    match: /^printf 'machine-id=%s\\n' "\$\(cat \/etc\/machine-id 2>\/dev\/null\)"$/,
    run: (b, _m, _s, all) => ({ stdout: `machine-id=${machineId(b, all)}\n`, ms: 80 }),
  },
  {
    name: 'new machine-id (systemd-machine-id-setup)',
    match: /rm -f \/etc\/machine-id\nsystemd-machine-id-setup\s*$/,
    run: (b, _m, _s, all) => {
      machineId(b, all);
      b.facts.machineId = randomBytes(16).toString('hex');
      b.files['/etc/machine-id'] = `${str(b, 'machineId')}\n`;
      return { stdout: 'Initializing machine ID from random generator.\n', ms: 300 };
    },
  },
  {
    name: 'pacman-key --init && --populate',
    match: /pacman-key --init && pacman-key --populate archlinuxarm/,
    run: (b) => {
      const first = b.facts.pacmanKeys !== true;
      b.facts.pacmanKeys = true;
      return {
        stdout: first
          ? 'gpg: /etc/pacman.d/gnupg/trustdb.gpg: trustdb created\ngpg: key 4A2B1E9A8B7C6D5E marked as ultimately trusted\n==> Appending keys from archlinuxarm.gpg...\n==> Locally signing trusted keys in keyring...\n==> Importing owner trust values...\n==> Updating trust database...\n'
          : '==> Appending keys from archlinuxarm.gpg...\n==> Updating trust database...\ngpg: next trustdb check due at 2027-01-01\n',
        ms: first ? 9000 : 2500,
      };
    },
  },
  {
    name: 'pacman-key --list-keys',
    root: true,
    match: /pacman-key --list-keys/,
    run: (b) => (b.facts.pacmanKeys === true ? { ms: 600 } : { code: 1, ms: 300 }),
  },
  {
    name: 'kernel install (pacman -Sw, -Rdd, -S)',
    match: /pacman -Sw --needed --noconfirm (\S+)/,
    run: (b, m) => {
      const missing = needsKeys(b);
      if (missing) return missing;
      const pkg = m[1]!;
      const already = str(b, 'kernelPackage') === pkg;
      b.facts.kernelPackage = pkg;
      return {
        stdout: `${already ? ` warning: ${pkg}-6.17.9-1 is up to date -- skipping\n there is nothing to do\n` : `:: Retrieving packages...\n ${pkg}-6.17.9-1-aarch64 downloading...\nchecking keyring...\nchecking package integrity...\n(1/1) removing linux-odroid-n2\n(1/1) installing ${pkg}\n:: Running post-transaction hooks...\n(1/2) Updating module dependencies...\n(2/2) Updating linux initcpios...\n`}`,
        ms: already ? 1500 : 14_000,
      };
    },
  },
  {
    name: 'write mainline U-Boot to the boot disk',
    root: true,
    match: /writing U-Boot to \$disk/,
    run: (b) => {
      const current = b.facts.ubootMainline === true;
      b.facts.ubootMainline = true;
      return { stdout: current ? 'U-Boot on /dev/mmcblk0 is current\n' : 'writing U-Boot to /dev/mmcblk0\n', ms: current ? 300 : 1500 };
    },
  },
  {
    name: 'mkimage boot.scr',
    match: /^mkimage -A arm -O linux -T script -C none -n 'boot script' -d (\S+) (\S+)$/,
    run: (b, m) => {
      const src = b.files[m[1]!];
      if (src === undefined) return { code: 1, stderr: `mkimage: Can't open ${m[1]}: No such file or directory`, ms: 100 };
      b.files[m[2]!] = `(U-Boot script image compiled from ${m[1]}, ${src.length} bytes)`;
      return { stdout: "Image Name:   boot script\nImage Type:   ARM Linux Script (uncompressed)\nData Size:    812 Bytes = 0.79 KiB = 0.00 MiB\n", ms: 200 };
    },
  },
  {
    name: 'systemctl reboot',
    match: /^\s*systemctl reboot\s*$/,
    run: (b) => {
      // The board comes up with the kernel U-Boot can load: the mainline one once it is installed and boot.scr exists.
      if (str(b, 'kernelPackage') === 'linux-aarch64' && b.files['/boot/boot.scr'] !== undefined) {
        b.facts.kernel = LAB_MAINLINE_KERNEL;
        b.facts.cgroup = 'cgroup2fs';
      }
      b.facts.bootId = randomUUID();
      // What does not survive a reboot: runtime swapoff, modprobe and sysctl; boot brings back what the files say.
      b.facts.swap = b.files[ZRAM_CONF] !== undefined ? [] : ['/dev/zram0'];
      b.facts.modules = modulesFromConfig(b);
      applySysctl(b);
      return { ms: 300, rebootMs: LAB_REBOOT_MS };
    },
  },
  {
    name: 'kernel probe (uname -r, cgroup fs, modules, boot id)',
    match: /stat -fc %T \/sys\/fs\/cgroup/,
    run: (b) => ({ stdout: `kernel=${str(b, 'kernel')}\ncgroup=${str(b, 'cgroup')}\nmodules=yes\nboot=${bootId(b)}\n`, ms: 120 }),
  },
  {
    name: 'pacman -Sy archlinuxarm-keyring',
    match: /pacman -Sy --needed --noconfirm archlinuxarm-keyring/,
    run: (b) => {
      const missing = needsKeys(b);
      if (missing) return missing;
      return { stdout: `:: Synchronizing package databases...\n core downloading...\n extra downloading...\n alarm downloading...\n aur downloading...\nwarning: archlinuxarm-keyring-20240419-1 is up to date -- skipping\n there is nothing to do\n`, ms: 5000 };
    },
  },
  {
    name: 'pacman -Suw (download the upgrades)',
    match: /pacman -Suw --noconfirm/,
    run: (b) => {
      const missing = needsKeys(b);
      if (missing) return missing;
      if (b.facts.upgraded === true) return { stdout: ':: Starting full system upgrade...\n there is nothing to do\n', ms: 800 };
      const again = b.facts.upgradeDownloaded === true;
      b.facts.upgradeDownloaded = true;
      return { stdout: upgradeLines('download'), ms: again ? 2000 : 22_000 };
    },
  },
  {
    name: 'pacman -Su (install the upgrades)',
    match: /pacman -Su --noconfirm/,
    run: (b) => {
      const missing = needsKeys(b);
      if (missing) return missing;
      if (b.facts.upgraded === true) return { stdout: ':: Starting full system upgrade...\n there is nothing to do\n', ms: 800 };
      if (b.facts.upgradeDownloaded !== true) return { code: 1, stderr: 'error: failed retrieving file: the packages were not downloaded', ms: 2000 };
      b.facts.upgraded = true;
      return { stdout: upgradeLines('install'), ms: 16_000 };
    },
  },
  {
    name: 'pacman -Qu (pending upgrades)',
    match: /^pacman -Qu /,
    run: (b) => ({ stdout: b.facts.upgraded === true ? '' : UPGRADED.slice(0, 5).map((p) => `${p} 1-0 -> 1-1`).join('\n') + '\n', ms: 400 }),
  },
  {
    name: 'swapoff -a',
    match: /^\s*swapoff -a\s*$/,
    run: (b) => {
      b.facts.swap = [];
      return { ms: 300 };
    },
  },
  {
    name: 'comment out swap in fstab',
    root: true,
    match: /swap off for Kubernetes \(boardkube\)/,
    run: (b) => {
      const fstab = b.files['/etc/fstab'] ?? ARCH_FSTAB;
      const next = fstab
        .split('\n')
        .map((l) => (!/^\s*#/.test(l) && l.trim().split(/\s+/)[2] === 'swap' ? `# swap off for Kubernetes (boardkube): ${l}` : l))
        .join('\n');
      b.files['/etc/fstab'] = next;
      return { stdout: next !== fstab ? 'commented out the swap lines of /etc/fstab\n' : '', ms: 100 };
    },
  },
  {
    name: 'swap probe (/proc/swaps, fstab)',
    match: /awk 'NR > 1 \{ print \$1 \}' \/proc\/swaps/,
    run: (b) => {
      const fstab = (b.files['/etc/fstab'] ?? ARCH_FSTAB)
        .split('\n')
        .filter((l) => !/^\s*#/.test(l) && l.trim().split(/\s+/)[2] === 'swap')
        .map((l) => l.trim().split(/\s+/)[0]);
      return { stdout: `active=${swapDevices(b).join(' ')}\nfstab=${fstab.join(' ')}\n`, ms: 80 };
    },
  },
  {
    name: 'modprobe',
    match: /^\s*modprobe \S+(\s*&&\s*modprobe \S+)*\s*$/,
    run: (b, _m, script) => {
      const modules = new Set(list(b, 'modules', []));
      for (const m of script.matchAll(/modprobe (\S+)/g)) modules.add(m[1]!);
      b.facts.modules = [...modules];
      return { ms: 200 };
    },
  },
  {
    name: 'sysctl --system',
    match: /^\s*sysctl --system\s*$/,
    run: (b) => {
      const values = applySysctl(b);
      return { stdout: `* Applying /etc/sysctl.d/k8s.conf ...\n${Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`, ms: 300 };
    },
  },
  {
    name: 'kernel settings probe (sysctl -n, /proc/filesystems)',
    match: /printf '%s=%s\\n' "\$k" "\$\(sysctl -n "\$k"/,
    run: (b) => {
      const values = record(b, 'sysctl');
      const keys = ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables', 'net.ipv4.ip_forward'];
      const overlay = list(b, 'modules', []).includes('overlay');
      return { stdout: `${keys.map((k) => `${k}=${values[k] ?? (k === 'net.ipv4.ip_forward' ? '0' : '')}`).join('\n')}\noverlay=${overlay ? 'yes' : 'no'}\n`, ms: 100 };
    },
  },
];

registerLabCommands(commands);

/** For tests: the simulators' names (what the trainer's notes list). */
export const CONFIGURE_LAB_COMMANDS: readonly string[] = commands.map((c) => c.name);
