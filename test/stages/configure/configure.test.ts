// The configure stage's scripts: every one passes shellcheck (as sh and as bash), the plan the CLI prints passes
// it too, and the portable steps run for real against OpenSSH servers (test/harness/sshd.ts) through the ssh2
// adapter, writing into a temp root instead of this machine's /etc. What needs pacman, systemd or a real kernel
// change runs in the practice lab (test/stages/configure/configure-lab.test.ts) and, unprefixed as shipped, on a real
// OpenSSH test board with its own /etc, /boot and pacman through the built command (test/e2e/real-boards.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkIdentity } from '../../../flows/configure/identity.ts';
import { kernelPlan, readKernel, rebootAndWait } from '../../../flows/configure/kernel.ts';
import { checkKernelSettings } from '../../../flows/configure/kernel-settings.ts';
import { machineIdUnique, readMachineId, reconcileMachineId, type MachineIdBoard } from '../../../flows/configure/machine-id.ts';
import { checkResources } from '../../../flows/configure/resources.ts';
import * as S from '../../../flows/configure/scripts.ts';
import { checkSwap } from '../../../flows/configure/swap.ts';
import { measureSkew } from '../../../flows/configure/time.ts';
import { SshHost } from '../../../src/adapters/ssh/host.ts';
import { openSession } from '../../../src/app/session.ts';
import { BOARDS } from '../../../src/boards/index.ts';
import { odroidN2 } from '../../../src/boards/odroid-n2.ts';
import { defaultCluster, type ClusterSpec } from '../../../src/cluster/spec.ts';
import type { Action, StepContext } from '../../../src/engine/types.ts';
import type { ExecOptions, ExecResult, Host, HostKeyPolicy } from '../../../src/ports/host.ts';
import { startBoard, type Board } from '../../harness/sshd.ts';
import { boardkubeCommand } from '../../e2e/common.ts';


function shellcheck(script: string, shell: 'sh' | 'bash'): string {
  const r = spawnSync('shellcheck', ['-s', shell, '-'], { input: script, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`;
}

/** Every script through shellcheck as sh (what sudo's `sh -c` runs) and as bash (a root login shell on Arch). */
function expectShellcheckClean(scripts: Array<{ name: string; script: string }>): void {
  const failures: string[] = [];
  // The same script goes to every board: check each text once.
  const unique = new Map<string, string>();
  for (const { name, script } of scripts) if (!unique.has(script)) unique.set(script, name);
  for (const [script, name] of unique) {
    for (const shell of ['sh', 'bash'] as const) {
      const out = shellcheck(script, shell);
      if (out) failures.push(`--- ${name} (${shell})\n${script}\n${out}`);
    }
  }
  expect(failures.join('\n')).toBe('');
}

function clusterFor(board: string): ClusterSpec {
  return { ...defaultCluster('/nonexistent'), board };
}

async function planOf(cluster: ClusterSpec): Promise<Action[]> {
  const s = openSession({ cluster, stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'bk-cfg-plan-')), lab: true, log: false });
  try {
    return await s.engine.plan(['configure']);
  } finally {
    await s.close();
  }
}

const PROBES = {
  resources: S.RESOURCES_PROBE,
  identity: S.identityProbe(),
  clock: S.CLOCK_PROBE,
  machineId: S.machineIdReadScript(),
  pacmanKeys: S.PACMAN_KEYS_PROBE,
  pending: S.UPGRADE_PENDING_PROBE,
  kernel: S.KERNEL_PROBE,
  swap: S.swapProbe(),
  kernelSettings: S.KERNEL_SETTINGS_PROBE,
};

describe('configure scripts', () => {
  it('every command of the plan, for every board profile, passes shellcheck; so do the probes', async () => {
    const scripts: Array<{ name: string; script: string }> = [];
    for (const board of BOARDS) {
      const actions = await planOf(clusterFor(board.id));
      const commands = actions.filter((a) => a.type === 'command');
      expect(new Set(actions.map((a) => a.step))).toEqual(new Set(['connect', 'resources', 'identity', 'time', 'machine-id', 'pacman-keys', 'upgrade', 'kernel', 'swap-off', 'kernel-settings']));
      for (const a of commands) scripts.push({ name: `${board.id} ${a.step}@${a.node}: ${a.description}`, script: a.content ?? '' });
      for (const a of actions.filter((x) => x.type === 'file')) {
        expect(a.path, a.description).toMatch(/^\//);
        expect(a.content, a.description).toBeTypeOf('string');
      }
    }
    for (const [name, script] of Object.entries(PROBES)) scripts.push({ name: `probe ${name}`, script });
    // The root-prefixed variants the tests below run, with a path that needs quoting.
    const odd = { root: "/tmp/it's a root" };
    scripts.push(
      { name: 'hosts (root)', script: S.hostsScript(defaultCluster(), odd) },
      { name: 'timezone (root)', script: S.timezoneScript('America/Argentina/Buenos_Aires', odd) },
      { name: 'machine-id regenerate (root)', script: S.machineIdRegenerateScript(odd) },
      { name: 'fstab (root)', script: S.fstabSwapScript(odd) },
      { name: 'u-boot (root)', script: S.bootloaderWriteScript(odroidN2, odd)! },
      { name: 'mkimage (root)', script: S.mkimageScript(odd) },
    );
    expectShellcheckClean(scripts);
  });

  it('`boardkube plan -f FILE --stage configure --json`: every command passes shellcheck', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-cfg-cli-'));
    const file = path.join(dir, 'cluster.yaml');
    const key = path.join(dir, 'id_ed25519');
    fs.writeFileSync(key, 'placeholder\n', { mode: 0o600 });
    fs.writeFileSync(`${key}.pub`, 'ssh-ed25519 AAAA placeholder\n');
    fs.writeFileSync(file, stringify(defaultCluster(key)));
    const env = { ...process.env, BOARDKUBE_STATE_DIR: path.join(dir, 'state') };
    // The built command (it fails when the bundle does not build or start: no checking the engine's plan instead).
    const cmd = boardkubeCommand();
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'plan', '-f', file, '--stage', 'configure', '--json'], { encoding: 'utf8', env, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const actions = JSON.parse(r.stdout) as Action[];
    const commands = actions.filter((a) => a.type === 'command' && a.stage === 'configure');
    expect(commands.length).toBeGreaterThan(40);
    expect(commands.some((a) => a.step === 'kernel' && a.content?.includes('pacman -S --needed --noconfirm linux-aarch64'))).toBe(true);
    expectShellcheckClean(commands.map((a) => ({ name: `${a.step}@${a.node}: ${a.description}`, script: a.content ?? '' })));
  });

  it("kubeadm's kernel versions: 5.4, 5.10, 5.15 and 6.x or later", () => {
    for (const ok of ['5.4.0-150-generic', '5.10.160', '5.15.0-1-aarch64', '6.1.0', '6.17.9-1-aarch64', '7.0.1', '10.2.3']) expect(S.kernelSupported(ok), ok).toBe(true);
    for (const bad of ['4.9.337-13-ARCH', '4.19.0', '5.3.18', '5.8.0', '3.10.0', '6.1']) expect(S.kernelSupported(bad), bad).toBe(false);
    const o = { requiresCgroupV2: true, node: 'n1', kernelPackage: 'linux-aarch64', minor: '1.37' };
    expect(S.judgeKernel({ kernel: '6.17.9-1-aarch64', cgroup: 'cgroup2fs', modules: true, boot: 'x' }, o).ok).toBe(true);
    const vendor = S.judgeKernel({ kernel: '4.9.337-13-ARCH', cgroup: 'tmpfs', modules: true, boot: 'x' }, o);
    expect(vendor.problems.join('\n')).toMatch(/4\.9\.337.*linux-aarch64/);
    expect(vendor.problems.join('\n')).toMatch(/cgroup v2 \(cgroup2fs\).*1\.37 refuses cgroup v1/);
    expect(S.judgeKernel({ kernel: '6.17.9-1-aarch64', cgroup: 'tmpfs', modules: true, boot: 'x' }, { ...o, requiresCgroupV2: false }).ok).toBe(true);
    expect(S.judgeKernel({ kernel: '6.17.9-1-aarch64', cgroup: 'cgroup2fs', modules: false, boot: 'x' }, o).problems[0]).toMatch(/needs a reboot/);
  });

  it('clock skew: the round trip counts in the board\'s favour; over 60 s fails with the fix', () => {
    const now = 1_800_000_000_000;
    expect(S.clockSkew(now / 1000, now - 100, now + 100).skewS).toBeCloseTo(0.5, 5);
    const behind = S.clockSkew(now / 1000 - 3 * 3600, now, now + 50);
    const v = S.judgeSkew(behind.skewS, behind.uncertaintyS, 'n2-worker1');
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatch(/3\.0 hours behind/);
    expect(v.problems[0]).toMatch(/NTP/);
    expect(S.judgeSkew(59, 0.5, 'n').ok).toBe(true);
    expect(S.judgeSkew(-62, 0.5, 'n').ok).toBe(false);
    // A slow link widens the window instead of failing a right clock.
    expect(S.judgeSkew(65, 10, 'n').ok).toBe(true);
  });

  it('machine-ids: the first of a group of clones keeps its id, later ones and empty ones get a new one', () => {
    const ids = [
      { node: 'a', id: '0123456789abcdef0123456789abcdef' },
      { node: 'b', id: '0123456789abcdef0123456789abcdef' },
      { node: 'c', id: '' },
      { node: 'd', id: 'fedcba9876543210fedcba9876543210' },
      { node: 'e', id: 'uninitialized' },
    ];
    expect(ids.map((_, i) => S.machineIdVerdict(i, ids).regenerate)).toEqual([false, true, true, false, true]);
    expect(S.machineIdVerdict(1, ids).reason).toMatch(/same machine-id as a/);
  });

  it('resources: kubeadm\'s control-plane minimums, 4 GiB free everywhere', () => {
    expect(S.parseResources('disk_free_kib=26624000\nmem_total_kib=3788800\ncpus=6\n')).toEqual({ diskFreeMiB: 26000, memoryMiB: 3700, cpus: 6 });
    expect(() => S.parseResources('cpus=6\n')).toThrow(/disk_free_kib/);
    expect(S.judgeResources({ diskFreeMiB: 26000, memoryMiB: 3700, cpus: 6 }, 'control-plane', 'm').ok).toBe(true);
    const small = S.judgeResources({ diskFreeMiB: 2000, memoryMiB: 1600, cpus: 1 }, 'control-plane', 'm');
    expect(small.problems).toHaveLength(3);
    expect(small.problems[0]).toMatch(/2\.0 GiB free.*4\.0 GiB.*pacman -Scc/);
    const worker = S.judgeResources({ diskFreeMiB: 8000, memoryMiB: 1600, cpus: 1 }, 'worker', 'w');
    expect(worker.ok).toBe(true);
    expect(worker.notes[0]).toMatch(/1600 MiB/);
  });

  it('pacman output becomes progress', () => {
    const p = new S.PacmanProgress();
    const lines = [':: Synchronizing package databases...', ' core downloading...', 'Packages (3) a-1-1  b-1-1  c-1-1', '', ':: Proceed with installation? [Y/n] ', '(3/3) checking keys in keyring', '(1/3) upgrading a', '(2/3) installing b', '(3/3) upgrading c', ' there is nothing to do'];
    const out = lines.map((l) => p.line(l));
    expect(out[0]).toEqual({ message: 'Synchronizing package databases' });
    expect(out[1]).toEqual({ message: 'downloading core' });
    expect(out[2]).toMatchObject({ done: 0, total: 3, unit: 'packages' });
    expect(out[3]).toBeUndefined();
    expect(out[4]).toBeUndefined();
    expect(out[5]).toEqual({ message: 'checking keys in keyring' });
    expect(out[8]).toEqual({ done: 3, total: 3, unit: 'packages', message: 'upgrading c' });
    expect(out[9]).toEqual({ message: 'nothing to upgrade' });
    // Wide counters are padded by pacman: "( 7/87)".
    expect(new S.PacmanProgress().line('( 7/87) upgrading glibc')).toMatchObject({ done: 7, total: 87 });
  });

  it('the boot script has every placeholder filled, for every board with one', () => {
    for (const b of BOARDS) {
      const txt = S.renderBootTxt(b);
      if (!txt) continue;
      expect(txt, b.id).not.toMatch(/\{\{/);
      expect(txt).toContain(`console=${b.boot.console}`);
      expect(txt).toContain(`part uuid \${devtype} \${devnum}:2 uuid`);
    }
  });

  it('the kernel plan installs before it removes, and reboots last', () => {
    const plan = kernelPlan(odroidN2);
    expect(plan.map((a) => a.type)).toEqual(['command', 'command', 'file', 'command', 'command']);
    const install = plan[0]!.content!;
    expect(install.indexOf('pacman -Sw')).toBeLessThan(install.indexOf('pacman -Rdd --noconfirm linux-odroid-n2'));
    expect(install.indexOf('pacman -Rdd')).toBeLessThan(install.indexOf('pacman -S --needed'));
    expect(plan[1]!.content).toContain('dd if="$f0" of="$disk" conv=fsync,notrunc bs=512 skip=1 seek=1');
    expect(plan[1]!.content).toContain('dd if="$f0" of="$disk" conv=fsync,notrunc bs=1 count=440');
    expect(plan[4]!.content).toBe('systemctl reboot');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The portable steps against real OpenSSH servers.

const boards: Board[] = [];
const hosts: SshHost[] = [];
const cleanups: Array<() => void> = [];

function trustingPolicy(): HostKeyPolicy {
  const pinned = new Map<string, string>();
  return {
    check: (node, key) => {
      const fp = pinned.get(node);
      return fp === undefined ? { ok: true, firstUse: true } : fp === key.fingerprint ? { ok: true, firstUse: false } : { ok: false, pinned: fp };
    },
    pin: (node, key) => void pinned.set(node, key.fingerprint),
  };
}

function hostFor(board: Board, node: string): SshHost {
  const h = new SshHost({ node, address: board.address, port: board.port, user: board.user, privateKeyPath: board.clientKeyPath, hostKeys: trustingPolicy(), sudoPassword: () => board.sudoPassword, connectTimeoutMs: 10_000 });
  hosts.push(h);
  return h;
}

function tempRoot(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-cfg-root-'));
  fs.mkdirSync(path.join(dir, 'etc'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });
}

describe('configure steps on real OpenSSH servers', () => {
  let root1: SshHost;
  let sudoHost: SshHost;
  let machines: SshHost[];

  beforeAll(async () => {
    const started = await Promise.all([startBoard(), startBoard(), startBoard(), startBoard({ sudo: 'nopasswd' })]);
    boards.push(...started);
    machines = started.slice(0, 3).map((b, i) => hostFor(b, `board-${i + 1}`));
    root1 = machines[0]!;
    sudoHost = hostFor(started[3]!, 'sudo-board');
  });

  afterAll(async () => {
    await Promise.allSettled(hosts.map((h) => h.close()));
    await Promise.allSettled(boards.map((b) => b.stop()));
    for (const c of cleanups.reverse()) c();
  });

  it('resources: the probe reads this machine\'s disk, memory and CPUs', async () => {
    const r = await checkResources(root1, 'control-plane');
    const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
    expect(r.memoryMiB).toBe(Math.floor(memKiB / 1024));
    expect(r.cpus).toBe(Number(sh('nproc').trim()));
    const freeKiB = Number(sh("df -Pk / | awk 'NR == 2 { print $4 }'").trim());
    expect(Math.abs(r.diskFreeMiB - freeKiB / 1024)).toBeLessThan(Math.max(64, freeKiB / 1024 / 100));
    expect(r.ok).toBe(r.diskFreeMiB >= S.MIN_DISK_FREE_MIB && r.memoryMiB >= S.CONTROL_PLANE_MEMORY_MIB && r.cpus >= S.CONTROL_PLANE_CPUS);
  });

  it('identity: /etc/hosts keeps its own lines, gets the block once, and a second run changes nothing', async () => {
    const dir = tempRoot();
    const hostsFile = path.join(dir, 'etc/hosts');
    const old = defaultCluster();
    old.nodes = old.nodes.slice(0, 2);
    const before = `127.0.0.1 localhost\n::1 localhost\n${S.hostsBlock(old)}192.168.1.9 printer\n`;
    fs.writeFileSync(hostsFile, before, { mode: 0o644 });
    const cluster = defaultCluster();
    const first = await root1.exec(S.hostsScript(cluster, { root: dir }));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/updated/);
    const after = fs.readFileSync(hostsFile, 'utf8');
    expect(after).toBe(S.applyHostsBlock(before, S.hostsBlock(cluster)));
    expect(after).toBe(`127.0.0.1 localhost\n::1 localhost\n192.168.1.9 printer\n${S.hostsBlock(cluster)}`);
    const mtime = fs.statSync(hostsFile).mtimeMs;
    const second = await root1.exec(S.hostsScript(cluster, { root: dir }));
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('');
    expect(fs.statSync(hostsFile).mtimeMs).toBe(mtime);
    expect(fs.statSync(hostsFile).mode & 0o777).toBe(0o644);
    // A missing file and one without a trailing newline come out the same way as the lab models them.
    fs.writeFileSync(hostsFile, '127.0.0.1 localhost');
    expect((await root1.exec(S.hostsScript(cluster, { root: dir }))).code).toBe(0);
    expect(fs.readFileSync(hostsFile, 'utf8')).toBe(S.applyHostsBlock('127.0.0.1 localhost', S.hostsBlock(cluster)));
    fs.rmSync(hostsFile);
    expect((await root1.exec(S.hostsScript(cluster, { root: dir }))).code).toBe(0);
    expect(fs.readFileSync(hostsFile, 'utf8')).toBe(S.hostsBlock(cluster));
  });

  it('identity: the time zone link and the probe; a wrong zone is refused', async () => {
    const dir = tempRoot();
    const cluster = defaultCluster();
    const node = cluster.nodes[1]!;
    fs.writeFileSync(path.join(dir, 'etc/hostname'), `${node.name}\n`);
    expect((await root1.exec(S.hostsScript(cluster, { root: dir }))).code).toBe(0);
    expect((await checkIdentity(root1, cluster, node, { root: dir, live: false })).problems).toEqual(['/etc/localtime points to "", not the zone Europe/Berlin']);
    const tz = await root1.exec(S.timezoneScript(cluster.timezone, { root: dir }));
    expect(tz.code, tz.stderr).toBe(0);
    expect(fs.readlinkSync(path.join(dir, 'etc/localtime'))).toBe('../usr/share/zoneinfo/Europe/Berlin');
    expect(await checkIdentity(root1, cluster, node, { root: dir, live: false })).toMatchObject({ ok: true });
    const bad = await root1.exec(S.timezoneScript('Mars/Olympus_Mons', { root: dir }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown time zone Mars\/Olympus_Mons/);
    expect(fs.readlinkSync(path.join(dir, 'etc/localtime'))).toBe('../usr/share/zoneinfo/Europe/Berlin');
  });

  it('identity through sudo: a login that is not root writes a root-owned /etc/hosts', async () => {
    const dir = tempRoot();
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'etc/hosts'), '127.0.0.1 localhost\n', { mode: 0o644 });
    const cluster = defaultCluster();
    expect((await sudoHost.exec(S.hostsScript(cluster, { root: dir }))).code).not.toBe(0);
    const r = await sudoHost.exec(S.hostsScript(cluster, { root: dir }), { sudo: true });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'etc/hosts'), 'utf8')).toBe(`127.0.0.1 localhost\n${S.hostsBlock(cluster)}`);
    expect(fs.statSync(path.join(dir, 'etc/hosts')).uid).toBe(0);
  });

  it('time: the clock of a real board agrees with this computer\'s', async () => {
    const m = await measureSkew(root1);
    expect(m.ok).toBe(true);
    expect(Math.abs(m.skewS)).toBeLessThan(2);
  });

  it('machine-id: clones and an empty id across three boards end unique, the first clone keeps its id', async () => {
    const twin = randomBytes(16).toString('hex');
    const roots = [tempRoot(), tempRoot(), tempRoot()];
    fs.writeFileSync(path.join(roots[0]!, 'etc/machine-id'), `${twin}\n`);
    fs.writeFileSync(path.join(roots[1]!, 'etc/machine-id'), `${twin}\n`);
    fs.writeFileSync(path.join(roots[2]!, 'etc/machine-id'), '');
    const group: MachineIdBoard[] = machines.map((h, i) => ({ node: h.node, host: h, root: roots[i] }));
    expect(await readMachineId(machines[1]!, { root: roots[1] })).toBe(twin);
    expect(await machineIdUnique(group, 1)).toBe(false);
    const logs: string[] = [];
    const results = await Promise.all(group.map((_, i) => reconcileMachineId(group, i, { log: (l) => logs.push(l) })));
    expect(results.map((r) => r.regenerated)).toEqual([false, true, true]);
    expect(results[0]!.after).toBe(twin);
    const ids = roots.map((r) => fs.readFileSync(path.join(r, 'etc/machine-id'), 'utf8').trim());
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(S.validMachineId(id), id).toBe(true);
    expect(logs.join('\n')).toMatch(/same machine-id as board-1/);
    expect(logs.join('\n')).toMatch(/has no machine-id/);
    for (let i = 0; i < 3; i++) expect(await machineIdUnique(group, i)).toBe(true);
    const again = await Promise.all(group.map((_, i) => reconcileMachineId(group, i)));
    expect(again.map((r) => r.regenerated)).toEqual([false, false, false]);
  });

  it('swap: fstab swap lines are commented once; the probe reads /proc/swaps', async () => {
    const dir = tempRoot();
    const fstab = path.join(dir, 'etc/fstab');
    const before = '# <file system> <dir> <type>\nUUID=aaaa / ext4 rw 0 1\n/dev/mmcblk0p3 none swap defaults 0 0\n/swapfile none swap sw 0 0\n# /old none swap sw 0 0\n';
    fs.writeFileSync(fstab, before, { mode: 0o644 });
    const r = await root1.exec(S.fstabSwapScript({ root: dir }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/commented out/);
    const after = fs.readFileSync(fstab, 'utf8');
    expect(after).toBe(before.replace('/dev/mmcblk0p3', '# swap off for Kubernetes (boardkube): /dev/mmcblk0p3').replace('/swapfile', '# swap off for Kubernetes (boardkube): /swapfile'));
    const again = await root1.exec(S.fstabSwapScript({ root: dir }));
    expect(again.stdout).toBe('');
    expect(fs.readFileSync(fstab, 'utf8')).toBe(after);
    const active = fs.readFileSync('/proc/swaps', 'utf8').trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]);
    const v = await checkSwap(root1, { root: dir });
    expect(v.ok).toBe(active.length === 0);
    if (active.length) expect(v.problems[0]).toContain(active[0]);
    fs.writeFileSync(fstab, before);
    expect((await checkSwap(root1, { root: dir })).problems.join('\n')).toMatch(/fstab .* still turns on swap at boot: \/dev\/mmcblk0p3, \/swapfile/);
  });

  it('kernel settings: the files as the plan writes them, and the live values as this machine has them', async () => {
    const dir = tempRoot();
    const before = await checkKernelSettings(root1, { root: dir });
    expect(before.problems.filter((p) => /k8s\.conf/.test(p))).toHaveLength(2);
    for (const [p, content] of [
      [S.MODULES_LOAD_PATH, S.MODULES_LOAD_CONF],
      [S.SYSCTL_PATH, S.SYSCTL_CONF],
    ] as const) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      await root1.writeFile(`${dir}${p}`, content, { mode: 0o644 });
      expect(fs.statSync(path.join(dir, p)).mode & 0o777).toBe(0o644);
    }
    const v = await checkKernelSettings(root1, { root: dir });
    expect(v.problems.filter((p) => /k8s\.conf/.test(p))).toEqual([]);
    const local = (key: string) => {
      try {
        return fs.readFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8').trim();
      } catch {
        return '';
      }
    };
    const overlay = /\boverlay\b/.test(fs.readFileSync('/proc/filesystems', 'utf8'));
    const expected = Object.keys(S.K8S_SYSCTL).filter((k) => local(k) !== '1').length + (overlay ? 0 : 1);
    expect(v.problems).toHaveLength(expected);
    expect(v.ok).toBe(expected === 0);
  });

  it('kernel: the probe reports this machine\'s kernel, cgroup filesystem and boot id', async () => {
    const f = await readKernel(root1);
    expect(f.kernel).toBe(os.release());
    expect(f.cgroup).toBe(sh('stat -fc %T /sys/fs/cgroup').trim());
    expect(f.boot).toBe(fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(f.modules).toBe(fs.existsSync(`/usr/lib/modules/${os.release()}`));
    const v = S.judgeKernel(f, { requiresCgroupV2: true, node: 'here', kernelPackage: 'linux-aarch64', minor: '1.37' });
    expect(v.ok).toBe(S.kernelSupported(f.kernel) && f.cgroup === 'cgroup2fs' && f.modules);
    if (f.cgroup !== 'cgroup2fs') expect(v.problems.join('\n')).toMatch(/refuses cgroup v1/);
  });

  it('kernel: boot.txt compiles to a U-Boot script with the real mkimage', async () => {
    const dir = tempRoot();
    fs.mkdirSync(path.join(dir, 'boot'));
    await root1.writeFile(`${dir}${S.BOOT_TXT_PATH}`, S.renderBootTxt(odroidN2)!, { mode: 0o644 });
    const r = await root1.exec(S.mkimageScript({ root: dir }));
    expect(r.code, r.stderr).toBe(0);
    const scr = fs.readFileSync(path.join(dir, 'boot/boot.scr'));
    expect(scr.readUInt32BE(0)).toBe(0x27051956);
    expect(sh(`mkimage -l ${path.join(dir, 'boot/boot.scr')}`)).toMatch(/Script/);
  });

  describe('the reboot: a real server that goes down and comes back (or not)', () => {
    let board: Board;
    let ssh: SshHost;
    const timers: Array<Promise<void>> = [];

    beforeAll(async () => {
      board = await startBoard();
      boards.push(board);
      ssh = hostFor(board, 'rebooting-board');
    });

    afterAll(async () => {
      await Promise.allSettled(timers);
    });

    /**
     * The real SSH connection to a real server, except that "systemctl reboot" stops the server after downAfterMs
     * (the board shutting down) and starts it upAfterMs later (null: never), and the kernel probe's boot id counts
     * the stops (this machine's own boot id cannot change).
     */
    function rebooting(downAfterMs: number, upAfterMs: number | null): Host {
      let boots = 0;
      const inner = ssh;
      const later = (ms: number, f: () => Promise<void>) => timers.push(new Promise<void>((r) => setTimeout(() => void f().finally(r), ms)));
      return {
        get node() {
          return inner.node;
        },
        get address() {
          return inner.address;
        },
        connect: (signal) => inner.connect(signal),
        async exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
          if (command === S.REBOOT_SCRIPT) {
            later(downAfterMs, async () => {
              boots++;
              await board.down();
              if (upAfterMs !== null) later(upAfterMs, () => board.up());
            });
            return { code: 0, stdout: '', stderr: '' };
          }
          const r = await inner.exec(command, opts);
          return command === S.KERNEL_PROBE ? { ...r, stdout: r.stdout.replace(/^boot=(.*)$/m, `boot=$1-${boots}`) } : r;
        },
        writeFile: (p, c, o) => inner.writeFile(p, c, o),
        readFile: (p, o) => inner.readFile(p, o),
        upload: (l, r, o) => inner.upload(l, r, o),
        download: (r, l, o) => inner.download(r, l, o),
        reconnect: (o) => inner.reconnect(o),
        hostKey: () => inner.hostKey(),
        close: () => inner.close(),
      };
    }

    function context(logs: string[]): StepContext {
      return { board: odroidN2, node: { name: 'rebooting-board', role: 'worker', address: board.address }, signal: new AbortController().signal, log: (l: string) => logs.push(l) } as unknown as StepContext;
    }

    it('waits through the old system still answering, the server going down and coming back, then reads the new boot', async () => {
      const host = rebooting(800, 1500);
      const before = await readKernel(host);
      const logs: string[] = [];
      const started = Date.now();
      const after = await rebootAndWait(context(logs), host, before.boot, 60_000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2300);
      expect(after.boot).toBe(before.boot.replace(/-0$/, '-1'));
      expect(after.kernel).toBe(os.release());
    });

    it('a board that stays down: the message says what to check', async () => {
      const host = rebooting(100, null);
      const before = await readKernel(host);
      const logs: string[] = [];
      const error = await rebootAndWait(context(logs), host, before.boot, 4000).then(
        () => '',
        (e: Error) => e.message,
      );
      expect(error).toMatch(/rebooting-board \(127\.0\.\d+\.\d+\) did not come back within 4 s after the reboot into linux-aarch64/);
      expect(error).toMatch(/boot-select switch/);
      expect(error).toMatch(/serial console \(ttyAML0, 115200 baud\)/);
      await Promise.allSettled(timers);
      await board.up();
    });
  });

  describe('U-Boot onto a real disk (a loop device)', () => {
    let image: string;
    let dev: string;
    let mountDir: string;
    let dir: string;

    beforeAll(() => {
      dir = tempRoot();
      image = path.join(dir, 'card.img');
      fs.writeFileSync(image, '');
      fs.truncateSync(image, 64 * 1024 * 1024);
      dev = sh(`losetup -f --show -P ${image}`).trim();
      cleanups.push(() => {
        spawnSync('umount', [mountDir]);
        spawnSync('losetup', ['-d', dev]);
      });
      // The ODROID-N2 layout: p1 from 2 MiB (sector 4096).
      execFileSync('sfdisk', ['-q', dev], { input: 'label: dos\nstart=4096, size=16384, type=c\nstart=20480, type=83\n' });
      spawnSync('partx', ['-u', dev]);
      for (let i = 0; i < 100 && !fs.existsSync(`${dev}p1`); i++) execFileSync('sleep', ['0.05']);
      // ext4 for /boot here: this machine's kernel has no vfat, and the script does not care.
      execFileSync('mkfs.ext4', ['-q', `${dev}p1`]);
      mountDir = path.join(dir, 'boot');
      fs.mkdirSync(mountDir);
      execFileSync('mount', [`${dev}p1`, mountDir]);
    });

    const read = (offset: number, length: number, device = dev) => {
      const fd = fs.openSync(device, 'r');
      try {
        const b = Buffer.alloc(length);
        fs.readSync(fd, b, 0, length, offset);
        return b;
      } finally {
        fs.closeSync(fd);
      }
    };

    it('writes the two dd commands\' bytes, keeps the partition table, and leaves a current U-Boot alone', async () => {
      const uboot = randomBytes(1024 * 1024 + 123);
      fs.writeFileSync(path.join(mountDir, 'u-boot.bin.sd.bin'), uboot);
      const table = read(446, 66);
      const script = S.bootloaderWriteScript(odroidN2, { root: dir })!;
      const first = await root1.exec(script);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain(`writing U-Boot to ${dev}`);
      expect(read(0, 440).equals(uboot.subarray(0, 440))).toBe(true);
      expect(read(446, 66).equals(table)).toBe(true);
      expect(read(512, uboot.length - 512).equals(uboot.subarray(512))).toBe(true);
      const second = await root1.exec(script);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain(`U-Boot on ${dev} is current`);
    });

    it('refuses a bootloader that would reach into the first partition; the disk is unchanged', async () => {
      fs.writeFileSync(path.join(mountDir, 'u-boot.bin.sd.bin'), randomBytes(3 * 1024 * 1024));
      const before = read(0, 2 * 1024 * 1024);
      const r = await root1.exec(S.bootloaderWriteScript(odroidN2, { root: dir })!);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/inside its first partition \(it starts at byte 2097152\): U-Boot is not written/);
      expect(read(0, 2 * 1024 * 1024).equals(before)).toBe(true);
    });

    it('refuses when /boot is not on a partition of a disk', async () => {
      const whole = tempRoot();
      const img = path.join(whole, 'whole.img');
      fs.writeFileSync(img, '');
      fs.truncateSync(img, 16 * 1024 * 1024);
      const loop = sh(`losetup -f --show ${img}`).trim();
      const mnt = path.join(whole, 'boot');
      fs.mkdirSync(mnt);
      try {
        execFileSync('mkfs.ext4', ['-q', loop]);
        execFileSync('mount', [loop, mnt]);
        fs.writeFileSync(path.join(mnt, 'u-boot.bin.sd.bin'), randomBytes(4096));
        // Bytes 0..1023: both dd commands would write there, ext4 never does.
        const before = read(0, 1024, loop);
        const r = await root1.exec(S.bootloaderWriteScript(odroidN2, { root: whole })!);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/cannot tell which disk holds \/boot/);
        expect(read(0, 1024, loop).equals(before)).toBe(true);
      } finally {
        spawnSync('umount', [mnt]);
        spawnSync('losetup', ['-d', loop]);
      }
    });
  });
});
