// Every shell script the configure stage sends to a board, as pure functions of typed input, plus the parsers
// and verdicts that read their output. Tests run each script through shellcheck (as sh and as bash) and the
// portable ones against real OpenSSH servers.
//
// Scripts run through `sh -c` (sudo wraps them so), so they are POSIX sh: no [[ ]], no arrays, no `local`.
// `root` prefixes every file path a script touches; it is empty on a board and a temp dir in tests, so a test can
// run the real script on this machine without touching its /etc.
import type { BoardProfile } from '../../src/boards/types.ts';
import type { ClusterSpec, NodeRole } from '../../src/cluster/spec.ts';
import type { Progress } from '../../src/engine/types.ts';

export interface ScriptOptions {
  /** Prefix for every file path the script reads or writes ('' on a board). */
  root?: string;
}

/** Quotes for a POSIX shell, leaving plainly safe words bare so the plan stays readable. */
export function q(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A file path under the script's root, quoted. */
function at(opts: ScriptOptions | undefined, path: string): string {
  return q(`${opts?.root ?? ''}${path}`);
}

/** `key=value` lines into a record (later keys win; lines without '=' are ignored). */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// pacman

/** An interrupted run leaves /var/lib/pacman/db.lck behind and every later pacman fails: remove it when no pacman runs. */
export const PACMAN_UNLOCK = `if [ -e /var/lib/pacman/db.lck ] && ! pgrep -x pacman >/dev/null; then
  echo "removing the stale pacman lock of an interrupted run"
  rm -f /var/lib/pacman/db.lck
fi`;

/** A fresh Arch Linux ARM system has no trusted keys: pacman refuses every package until they are set up. */
export const PACMAN_KEYS_SCRIPT = 'pacman-key --init && pacman-key --populate archlinuxarm';

/** Succeeds when the Arch Linux ARM build keys are in pacman's keyring (needs root: the keyring is 0700). */
export const PACMAN_KEYS_PROBE = "pacman-key --list-keys 2>/dev/null | grep -q '@archlinuxarm\\.org>'";

/**
 * The full upgrade in three parts, each safe to repeat:
 * 1. the keyring first (an old image cannot check the signatures of packages signed by newer keys),
 * 2. download every upgrade (the long, network-bound part: a cut connection here changes nothing on the board),
 * 3. install them from the cache.
 */
export const UPGRADE_SCRIPTS = {
  keyring: `set -e\n${PACMAN_UNLOCK}\npacman -Sy --needed --noconfirm archlinuxarm-keyring`,
  download: `set -e\n${PACMAN_UNLOCK}\npacman -Suw --noconfirm`,
  install: `set -e\n${PACMAN_UNLOCK}\npacman -Su --noconfirm`,
} as const;

/** Lists the upgrades still pending against the local package databases (no network); empty when current. */
export const UPGRADE_PENDING_PROBE = "pacman -Qu 2>/dev/null | grep -v '\\[ignored\\]' || true";

/**
 * Turns pacman's plain output (no terminal: no progress bars) into progress: `Packages (87) ...` gives the
 * total, `( 3/87) upgrading foo` the count, `foo-1.0-1-aarch64 downloading...` and `:: ...` headings a message.
 */
export class PacmanProgress {
  total: number | undefined;
  done = 0;

  line(raw: string): Progress | undefined {
    const line = raw.trimEnd();
    const packages = /^Packages \((\d+)\)/.exec(line);
    if (packages) {
      this.total = Number(packages[1]);
      this.done = 0;
      return { done: 0, total: this.total, unit: 'packages', message: `${this.total} packages to upgrade` };
    }
    const step = /^\(\s*(\d+)\/(\d+)\)\s+(upgrading|installing|reinstalling|downgrading|removing)\s+(\S+?)(?:\.\.\.)?$/.exec(line);
    if (step) {
      this.done = Number(step[1]);
      this.total = Number(step[2]);
      return { done: this.done, total: this.total, unit: 'packages', message: `${step[3]} ${step[4]}` };
    }
    const phase = /^\(\s*(\d+)\/(\d+)\)\s+(checking .+|loading .+)$/.exec(line);
    if (phase) return { message: phase[3]!.replace(/\.\.\.$/, '') };
    const download = /^\s*(\S+)\s+downloading\.\.\.$/.exec(line);
    if (download) return { message: `downloading ${download[1]}` };
    const heading = /^:: (.+?)\.*$/.exec(line);
    if (heading && !/\[Y\/n\]/.test(line)) return { message: heading[1] };
    if (/^\s*there is nothing to do$/.test(line)) return { message: 'nothing to upgrade' };
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// resources

/** Free space on / (KiB), total memory (KiB, as kubeadm counts it) and the CPU count. Read-only. */
export const RESOURCES_PROBE = [
  "df -Pk / | awk 'NR == 2 { print \"disk_free_kib=\" $4 }'",
  "awk '/^MemTotal:/ { print \"mem_total_kib=\" $2 }' /proc/meminfo",
  'printf \'cpus=%s\\n\' "$(nproc)"',
].join('\n');

export interface Resources {
  diskFreeMiB: number;
  memoryMiB: number;
  cpus: number;
}

export function parseResources(stdout: string): Resources {
  const kv = parseKeyValues(stdout);
  const num = (k: string) => {
    const v = Number(kv[k]);
    if (!kv[k] || !Number.isFinite(v)) throw new Error(`the resource probe did not report ${k}: ${stdout.trim() || '(no output)'}`);
    return v;
  };
  return { diskFreeMiB: Math.floor(num('disk_free_kib') / 1024), memoryMiB: Math.floor(num('mem_total_kib') / 1024), cpus: num('cpus') };
}

/** Room for the upgrade, the mainline kernel and the container images Kubernetes pulls. */
export const MIN_DISK_FREE_MIB = 4096;
/** kubeadm init's preflight (MemCheck, ControlPlaneMem): total memory in MiB. */
export const CONTROL_PLANE_MEMORY_MIB = 1700;
/** kubeadm init's preflight (NumCPUCheck, ControlPlaneNumCPU). */
export const CONTROL_PLANE_CPUS = 2;

export interface Verdict {
  ok: boolean;
  problems: string[];
  notes: string[];
}

const gib = (mib: number) => `${(mib / 1024).toFixed(1)} GiB`;

export function judgeResources(r: Resources, role: NodeRole, node: string): Verdict {
  const problems: string[] = [];
  const notes: string[] = [];
  if (r.diskFreeMiB < MIN_DISK_FREE_MIB) {
    problems.push(
      `${node} has ${gib(r.diskFreeMiB)} free on /, it needs at least ${gib(MIN_DISK_FREE_MIB)} (the upgrade, the mainline kernel and the container images). ` +
        'Fix: flash a bigger card (16 GiB or more), or make room: `pacman -Scc` empties the package cache.',
    );
  }
  if (role === 'control-plane') {
    if (r.memoryMiB < CONTROL_PLANE_MEMORY_MIB) {
      problems.push(`${node} has ${r.memoryMiB} MiB of memory; kubeadm init refuses a control plane with less than ${CONTROL_PLANE_MEMORY_MIB} MiB. Fix: make a board with more memory the control plane (role: control-plane in the cluster file).`);
    }
    if (r.cpus < CONTROL_PLANE_CPUS) {
      problems.push(`${node} has ${r.cpus} CPU; kubeadm init refuses a control plane with fewer than ${CONTROL_PLANE_CPUS}. Fix: make another board the control plane.`);
    }
  } else if (r.memoryMiB < CONTROL_PLANE_MEMORY_MIB) {
    notes.push(`${node} has only ${r.memoryMiB} MiB of memory: enough to join, but little room for pods`);
  }
  return { ok: problems.length === 0, problems, notes };
}

// ---------------------------------------------------------------------------------------------------------------
// identity: hostname, /etc/hosts, time zone

export function setHostnameScript(name: string): string {
  // hostnamectl writes /etc/hostname and renames the running system; without systemd-hostnamed do both by hand.
  return `if ! hostnamectl set-hostname ${q(name)} 2>/dev/null; then
  printf '%s\\n' ${q(name)} > /etc/hostname
  printf '%s' ${q(name)} > /proc/sys/kernel/hostname
fi`;
}

export const HOSTS_BEGIN = '# BEGIN boardkube';
export const HOSTS_END = '# END boardkube';
const HEREDOC = 'BOARDKUBE_EOF';

/** The managed block of /etc/hosts: every board by name, so the boards find each other without DNS. */
export function hostsBlock(cluster: Pick<ClusterSpec, 'name' | 'nodes'>): string {
  const width = Math.max(...cluster.nodes.map((n) => n.address.length));
  return [
    `${HOSTS_BEGIN} (cluster ${cluster.name}): written by boardkube, changed on every run`,
    ...cluster.nodes.map((n) => `${n.address.padEnd(width)} ${n.name}`),
    HOSTS_END,
    '',
  ].join('\n');
}

/** What hostsScript leaves in /etc/hosts: every other line kept, the managed block replaced at the end. */
export function applyHostsBlock(existing: string, block: string): string {
  const lines = existing.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const kept: string[] = [];
  let skip = false;
  for (const line of lines) {
    if (line.startsWith(HOSTS_BEGIN)) skip = true;
    else if (line.startsWith(HOSTS_END)) skip = false;
    else if (!skip) kept.push(line);
  }
  return (kept.length ? `${kept.join('\n')}\n` : '') + block;
}

/** Replaces the managed block in /etc/hosts (in place, so mode and owner stay); unchanged file: no write. */
export function hostsScript(cluster: Pick<ClusterSpec, 'name' | 'nodes'>, opts?: ScriptOptions): string {
  const f = at(opts, '/etc/hosts');
  return `set -e
f=${f}
tmp="$f.boardkube.$$"
[ -e "$f" ] || : > "$f"
{
  awk '/^${HOSTS_BEGIN}/ { skip = 1; next } /^${HOSTS_END}/ { skip = 0; next } !skip { print }' "$f"
  cat <<'${HEREDOC}'
${hostsBlock(cluster)}${HEREDOC}
} > "$tmp"
if cmp -s "$tmp" "$f"; then
  rm -f "$tmp"
else
  cat "$tmp" > "$f"
  rm -f "$tmp"
  echo "updated $f"
fi`;
}

/** Points /etc/localtime at the zone (what timedatectl set-timezone does), after checking the zone exists. */
export function timezoneScript(timezone: string, opts?: ScriptOptions): string {
  const zone = `/usr/share/zoneinfo/${timezone}`;
  return `set -e
if [ ! -f ${q(zone)} ]; then
  echo ${q(`unknown time zone ${timezone}: ${zone} does not exist on the board`)} >&2
  exit 1
fi
ln -sfn ${q(`../usr/share/zoneinfo/${timezone}`)} ${at(opts, '/etc/localtime')}`;
}

/** Sections: hostname file, running hostname, /etc/localtime's target, /etc/hosts. */
export function identityProbe(opts?: ScriptOptions): string {
  return `echo '== hostname'
cat ${at(opts, '/etc/hostname')} 2>/dev/null || true
echo '== running'
uname -n
echo '== localtime'
readlink ${at(opts, '/etc/localtime')} 2>/dev/null || true
echo '== hosts'
cat ${at(opts, '/etc/hosts')} 2>/dev/null || true`;
}

/** `== name` sections into a record of their text (each without its trailing newline). */
export function parseSections(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current: string | undefined;
  const lines: string[] = [];
  const flush = () => {
    if (current !== undefined) out[current] = lines.join('\n').replace(/\n+$/, '');
    lines.length = 0;
  };
  for (const line of stdout.split('\n')) {
    const m = /^== (\S+)$/.exec(line);
    if (m) {
      flush();
      current = m[1];
    } else if (current !== undefined) lines.push(line);
  }
  flush();
  return out;
}

export function judgeIdentity(
  sections: Record<string, string>,
  want: { name: string; timezone: string; block: string },
  opts: { live: boolean } = { live: true },
): Verdict {
  const problems: string[] = [];
  if ((sections.hostname ?? '').trim() !== want.name) problems.push(`/etc/hostname says "${(sections.hostname ?? '').trim()}", not "${want.name}"`);
  if (opts.live && (sections.running ?? '').trim() !== want.name) problems.push(`the running hostname is "${(sections.running ?? '').trim()}", not "${want.name}"`);
  if (!(sections.localtime ?? '').trim().endsWith(`zoneinfo/${want.timezone}`)) problems.push(`/etc/localtime points to "${(sections.localtime ?? '').trim()}", not the zone ${want.timezone}`);
  const hosts = `${sections.hosts ?? ''}\n`;
  if (!hosts.includes(want.block)) problems.push('/etc/hosts does not list every board as the cluster file does');
  return { ok: problems.length === 0, problems, notes: [] };
}

// ---------------------------------------------------------------------------------------------------------------
// time

/** Seconds to wait for the first time synchronisation. */
export const TIME_SYNC_WAIT_S = 30;

/**
 * Turns on time synchronisation (systemd-timesyncd, unless chrony or ntpd already runs) and waits up to
 * TIME_SYNC_WAIT_S seconds until the kernel clock counts as synchronised.
 */
export const TIME_SYNC_SCRIPT = `set -e
if systemctl is-active --quiet chronyd.service || systemctl is-active --quiet ntpd.service; then
  echo "time sync: chronyd or ntpd runs already"
else
  timedatectl set-ntp true 2>/dev/null || true
  systemctl enable --now systemd-timesyncd.service
fi
i=0
while [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" != yes ] && [ "$i" -lt ${TIME_SYNC_WAIT_S} ]; do
  sleep 1
  i=$((i + 1))
done
printf 'synchronized=%s\\n' "$(timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown)"`;

/** The board's clock, in seconds since the epoch. */
export const CLOCK_PROBE = 'date +%s';

/** Boards more than this far off this computer's clock fail: certificates and signatures depend on time. */
export const MAX_CLOCK_SKEW_S = 60;

/**
 * The board's clock against this computer's: `date +%s` was read between sentMs and receivedMs (this computer's
 * clock), so the board's true offset lies within the round trip (plus one second of `date +%s` resolution).
 */
export function clockSkew(boardEpochS: number, sentMs: number, receivedMs: number): { skewS: number; uncertaintyS: number } {
  const mid = (sentMs + receivedMs) / 2 / 1000;
  const skewS = boardEpochS + 0.5 - mid;
  return { skewS, uncertaintyS: (receivedMs - sentMs) / 2000 + 0.5 };
}

export function judgeSkew(skewS: number, uncertaintyS: number, node: string, maxS = MAX_CLOCK_SKEW_S): Verdict {
  if (Math.abs(skewS) - uncertaintyS <= maxS) return { ok: true, problems: [], notes: [] };
  const amount = Math.abs(skewS) >= 3600 ? `${(Math.abs(skewS) / 3600).toFixed(1)} hours` : Math.abs(skewS) >= 120 ? `${Math.round(Math.abs(skewS) / 60)} minutes` : `${Math.round(Math.abs(skewS))} seconds`;
  return {
    ok: false,
    problems: [
      `${node}'s clock is ${amount} ${skewS < 0 ? 'behind' : 'ahead of'} this computer's (more than ${maxS} s): certificates, join tokens and package signatures fail with a wrong clock. ` +
        'Fix: time sync must reach an NTP server: check that the board reaches the internet or your router on UDP port 123 ' +
        '(`timedatectl timesync-status` on the board; set NTP= in /etc/systemd/timesyncd.conf for a local server), then run the stage again. ' +
        'If the board is right and this computer is wrong, fix this computer\'s clock (`timedatectl` here).',
    ],
    notes: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// machine-id

export function machineIdReadScript(opts?: ScriptOptions): string {
  return `printf 'machine-id=%s\\n' "$(cat ${at(opts, '/etc/machine-id')} 2>/dev/null)"`;
}

/** A new random machine-id (systemd-machine-id-setup generates one when the file is missing). */
export function machineIdRegenerateScript(opts?: ScriptOptions): string {
  const root = opts?.root ?? '';
  return `set -e
rm -f ${at(opts, '/etc/machine-id')}
systemd-machine-id-setup${root ? ` --root=${q(root)}` : ''}`;
}

export function validMachineId(id: string | undefined): boolean {
  return !!id && /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id);
}

/**
 * Whether the board at `index` (in the cluster file's order) must get a new machine-id: its own is missing or
 * malformed, or a board before it has the same one (the first board of a group of clones keeps its id). Deciding
 * only against earlier boards lets every board decide in parallel: an earlier board changes only to a fresh
 * random id, which cannot make a later board's id a duplicate.
 */
export function machineIdVerdict(index: number, ids: ReadonlyArray<{ node: string; id: string | undefined }>): { regenerate: boolean; reason?: string } {
  const mine = ids[index]?.id;
  if (!validMachineId(mine)) return { regenerate: true, reason: mine ? `its machine-id "${mine}" is not valid` : 'it has no machine-id' };
  const twin = ids.slice(0, index).find((o) => o.id === mine);
  if (twin) return { regenerate: true, reason: `it has the same machine-id as ${twin.node} (${mine}): the card was cloned` };
  return { regenerate: false };
}

// ---------------------------------------------------------------------------------------------------------------
// kernel

/** kubeadm's kernel validator (k8s.io/system-validators, DefaultSysSpec.KernelSpec.Versions): 5.4, 5.10, 5.15, 6.x+. */
export const KUBEADM_KERNEL_VERSIONS: readonly RegExp[] = [/^5\.4.*$/, /^5\.10.*$/, /^5\.15.*$/, /^([6-9]|[1-9][0-9]+)\.([0-9]+)\.([0-9]+).*$/];

export function kernelSupported(release: string): boolean {
  return KUBEADM_KERNEL_VERSIONS.some((re) => re.test(release));
}

/** Running kernel, cgroup filesystem, whether the running kernel's modules are still installed, and the boot id. */
export const KERNEL_PROBE = `printf 'kernel=%s\\n' "$(uname -r)"
printf 'cgroup=%s\\n' "$(stat -fc %T /sys/fs/cgroup)"
if [ -d "/usr/lib/modules/$(uname -r)" ]; then echo modules=yes; else echo modules=no; fi
printf 'boot=%s\\n' "$(cat /proc/sys/kernel/random/boot_id)"`;

export interface KernelFacts {
  kernel: string;
  cgroup: string;
  modules: boolean;
  boot: string;
}

export function parseKernelFacts(stdout: string): KernelFacts {
  const kv = parseKeyValues(stdout);
  if (!kv.kernel) throw new Error(`the kernel probe did not report the kernel: ${stdout.trim() || '(no output)'}`);
  return { kernel: kv.kernel, cgroup: kv.cgroup ?? '', modules: kv.modules === 'yes', boot: kv.boot ?? '' };
}

export function judgeKernel(f: KernelFacts, o: { requiresCgroupV2: boolean; node: string; kernelPackage: string; minor: string }): Verdict {
  const problems: string[] = [];
  if (!kernelSupported(f.kernel)) {
    problems.push(`${o.node} runs kernel ${f.kernel}; kubeadm accepts 5.4, 5.10, 5.15 and 6.x or later, so the board needs ${o.kernelPackage}`);
  }
  if (f.cgroup !== 'cgroup2fs' && o.requiresCgroupV2) {
    problems.push(
      `${o.node} mounts ${f.cgroup || 'no'} cgroup filesystem at /sys/fs/cgroup, not cgroup v2 (cgroup2fs): the kubelet of Kubernetes ${o.minor} refuses cgroup v1. ` +
        'Fix: boot without systemd.unified_cgroup_hierarchy=0 (or cgroup_no_v1) on the kernel command line (/boot/boot.txt, then mkimage)',
    );
  }
  if (!f.modules) {
    problems.push(`${o.node}'s running kernel ${f.kernel} has no modules installed any more (the kernel package was upgraded): it needs a reboot`);
  }
  return { ok: problems.length === 0, problems, notes: [] };
}

/** Packages the kernel step installs: the kernel, the bootloader package and, for a boot script, mkimage. */
export function kernelPackages(board: BoardProfile): string[] {
  const pkgs = [board.kernelPackage, board.bootloader.package];
  if (board.boot.kind === 'boot.scr') pkgs.push('uboot-tools');
  return [...new Set(pkgs)];
}

/**
 * Installs the mainline kernel in place of the vendor one. Downloads first, so a network failure leaves the old
 * kernel in place; the old kernel must go before the new one comes (both own /boot/Image), and --noconfirm would
 * answer "no" to pacman's "remove the conflicting package?" question.
 */
export function kernelInstallScript(board: BoardProfile): string {
  const pkgs = kernelPackages(board).map(q).join(' ');
  const lines = ['set -e', PACMAN_UNLOCK, `pacman -Sw --needed --noconfirm ${pkgs}`];
  for (const old of board.replacesKernels) {
    lines.push(`if pacman -Q ${q(old)} >/dev/null 2>&1; then\n  pacman -Rdd --noconfirm ${q(old)}\nfi`);
  }
  lines.push(`pacman -S --needed --noconfirm ${pkgs}`);
  return lines.join('\n');
}

/**
 * Writes the board's bootloader (mainline U-Boot) onto the disk that holds /boot, with the profile's dd commands;
 * nothing is written when the bytes on the disk match already. Refuses when it cannot tell the disk, or when the
 * bootloader would reach into the first partition. Undefined for boards without a raw bootloader write.
 */
export function bootloaderWriteScript(board: BoardProfile, opts?: ScriptOptions): string | undefined {
  const writes = board.bootloader.writes;
  if (writes.length === 0) return undefined;
  const files = [...new Set(writes.map((w) => w.file))];
  const vars = new Map(files.map((f, i) => [f, `f${i}`]));
  const lines = [
    'set -e',
    `src=$(findmnt -n -o SOURCE --target ${at(opts, '/boot')})`,
    'parent=$(lsblk -n -o PKNAME "$src" | head -n 1)',
    'if [ -z "$parent" ] || [ ! -b "/dev/$parent" ]; then',
    '  echo "cannot tell which disk holds /boot ($src): U-Boot is not written" >&2',
    '  exit 1',
    'fi',
    'disk=/dev/$parent',
    'first=$(cat /sys/block/"$parent"/*/start 2>/dev/null | sort -n | head -n 1)',
    'if [ -z "$first" ]; then',
    '  echo "$disk has no partitions: U-Boot is not written" >&2',
    '  exit 1',
    'fi',
  ];
  for (const [file, v] of vars) {
    lines.push(
      `${v}=${at(opts, file)}`,
      `if [ ! -f "$${v}" ]; then`,
      `  echo "$${v} is missing: is ${board.bootloader.package} installed?" >&2`,
      '  exit 1',
      'fi',
      `${v}_size=$(stat -c %s "$${v}")`,
    );
  }
  lines.push('current=yes');
  for (const w of writes) {
    const v = vars.get(w.file)!;
    const from = w.skip * w.bs;
    const to = w.seek * w.bs;
    const length = w.count !== undefined ? String(w.count * w.bs) : `${v}_size - ${from}`;
    lines.push(
      `if [ $((${to} + ${length})) -gt $((first * 512)) ]; then`,
      `  echo "${w.file} would end at byte $((${to} + ${length})) on $disk, inside its first partition (it starts at byte $((first * 512))): U-Boot is not written" >&2`,
      '  exit 1',
      'fi',
      `cmp -s -i ${from}:${to} -n $((${length})) "$${v}" "$disk" || current=no`,
    );
  }
  lines.push('if [ "$current" = yes ]; then', '  echo "U-Boot on $disk is current"', '  exit 0', 'fi', 'echo "writing U-Boot to $disk"');
  for (const w of writes) {
    const v = vars.get(w.file)!;
    lines.push(`dd if="$${v}" of="$disk" conv=fsync,notrunc bs=${w.bs}${w.skip ? ` skip=${w.skip}` : ''}${w.seek ? ` seek=${w.seek}` : ''}${w.count !== undefined ? ` count=${w.count}` : ''} status=none`);
  }
  lines.push('sync');
  return lines.join('\n');
}

/** The profile's boot.txt with its placeholders filled in. */
export function renderBootTxt(board: BoardProfile): string | undefined {
  if (board.boot.kind !== 'boot.scr' || !board.boot.script) return undefined;
  const index = (mount: string) => String(board.partitions.findIndex((p) => p.mountpoint === mount) + 1);
  const values: Record<string, string> = {
    board: board.name,
    console: board.boot.console,
    fdt: board.boot.fdt,
    bootPart: index('/boot'),
    rootPart: index('/'),
  };
  return board.boot.script.replace(/\{\{(\w+)\}\}/g, (all, k: string) => values[k] ?? all);
}

export const BOOT_TXT_PATH = '/boot/boot.txt';

export function mkimageScript(opts?: ScriptOptions): string {
  return `mkimage -A arm -O linux -T script -C none -n 'boot script' -d ${at(opts, BOOT_TXT_PATH)} ${at(opts, '/boot/boot.scr')}`;
}

export const REBOOT_SCRIPT = 'systemctl reboot';

// ---------------------------------------------------------------------------------------------------------------
// swap

export const SWAPOFF_SCRIPT = 'swapoff -a';

/** Comments out every active swap line of /etc/fstab (swap partitions and swap files); nothing to do: no write. */
export function fstabSwapScript(opts?: ScriptOptions): string {
  return `set -e
f=${at(opts, '/etc/fstab')}
if [ -f "$f" ] && awk '!/^[[:space:]]*#/ && $3 == "swap" { found = 1 } END { exit !found }' "$f"; then
  awk '!/^[[:space:]]*#/ && $3 == "swap" { print "# swap off for Kubernetes (boardkube): " $0; next } { print }' "$f" > "$f.boardkube"
  cat "$f.boardkube" > "$f"
  rm -f "$f.boardkube"
  echo "commented out the swap lines of $f"
fi`;
}

/** A config of this name in /etc overrides zram-generator's defaults; one without [zram0] sections makes no swap. */
export const ZRAM_CONF_PATH = '/etc/systemd/zram-generator.conf';
export const ZRAM_CONF = '# Written by boardkube: no zram swap. The kubelet wants swap off.\n';

/** Active swap devices (/proc/swaps) and active swap lines in fstab. */
export function swapProbe(opts?: ScriptOptions): string {
  return `printf 'active=%s\\n' "$(awk 'NR > 1 { print $1 }' /proc/swaps | tr '\\n' ' ')"
printf 'fstab=%s\\n' "$(awk '!/^[[:space:]]*#/ && $3 == "swap" { print $1 }' ${at(opts, '/etc/fstab')} 2>/dev/null | tr '\\n' ' ')"`;
}

export function parseSwap(stdout: string): { active: string[]; fstab: string[] } {
  const kv = parseKeyValues(stdout);
  const list = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
  return { active: list(kv.active), fstab: list(kv.fstab) };
}

// ---------------------------------------------------------------------------------------------------------------
// kernel modules and sysctl

export const MODULES_LOAD_PATH = '/etc/modules-load.d/k8s.conf';
export const K8S_MODULES = ['overlay', 'br_netfilter'] as const;
export const MODULES_LOAD_CONF = `# Written by boardkube: kernel modules Kubernetes needs, loaded at every boot.\n${K8S_MODULES.join('\n')}\n`;

export const SYSCTL_PATH = '/etc/sysctl.d/k8s.conf';
export const K8S_SYSCTL: Readonly<Record<string, string>> = {
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
  'net.ipv4.ip_forward': '1',
};
export const SYSCTL_CONF = `# Written by boardkube: pod traffic across the bridge passes iptables, and the board forwards packets.\n${Object.entries(K8S_SYSCTL)
  .map(([k, v]) => `${k} = ${v}`)
  .join('\n')}\n`;

export const MODPROBE_SCRIPT = K8S_MODULES.map((m) => `modprobe ${m}`).join(' && ');
export const SYSCTL_APPLY_SCRIPT = 'sysctl --system';

/** The live values of the sysctl keys and whether the overlay filesystem is available. */
export const KERNEL_SETTINGS_PROBE = `for k in ${Object.keys(K8S_SYSCTL).join(' ')}; do
  printf '%s=%s\\n' "$k" "$(sysctl -n "$k" 2>/dev/null)"
done
if grep -qw overlay /proc/filesystems; then echo overlay=yes; else echo overlay=no; fi`;

export function judgeKernelSettings(stdout: string, node: string): Verdict {
  const kv = parseKeyValues(stdout);
  const problems: string[] = [];
  for (const [k, v] of Object.entries(K8S_SYSCTL)) {
    if (kv[k] !== v) problems.push(`${node}: ${k} is ${kv[k] ? kv[k] : 'missing'}${k.startsWith('net.bridge') && !kv[k] ? ' (br_netfilter is not loaded)' : ''}, Kubernetes needs ${v}`);
  }
  if (kv.overlay !== 'yes') problems.push(`${node}: the overlay filesystem is not available (modprobe overlay)`);
  return { ok: problems.length === 0, problems, notes: [] };
}
