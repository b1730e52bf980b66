// The real wiring, through the built command: `boardkube apply --stage configure` against a real OpenSSH test board
// (test/harness/system-board.ts: its own /etc, /boot on a loop device, pacman with a local repository, stand-ins
// only for systemd's tools and uname's aarch64), with the real ports (src/app/ports.ts realPorts): a non-default
// ssh.port, `~` in the key path, the host key pinned into the saved progress and read back from it, the sudo
// password from --sudo-password-file (an ordinary login with a password for sudo), the run log. Then
// `status --verify`, a re-flashed board with a new host key refused, and `reset --forget-host-key`.
//
// What runs here: every configure step up to swap-off, the kernel step included (pacman replaces the vendor kernel,
// U-Boot is written to the loop device, the real mkimage compiles boot.scr, the board reboots into cgroup v2).
// kernel-settings fails, as it must on this machine: it cannot load kernel modules (no /proc/modules).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostsBlock } from '../../flows/configure/scripts.ts';
import { writeClusterFile } from '../../src/cluster/file.ts';
import { defaultCluster, type ClusterSpec } from '../../src/cluster/spec.ts';
import { startSystemBoard, type SystemBoard } from '../harness/system-board.ts';
import { boardkubeCommand, readState, runAsync } from './common.ts';

const NODE = 'n2-master';
const BEFORE_KERNEL_SETTINGS = ['connect', 'resources', 'identity', 'time', 'machine-id', 'pacman-keys', 'upgrade', 'kernel', 'swap-off'];

let board: SystemBoard;
let dir: string;
let home: string;
let file: string;
let stateDir: string;
let passwordFile: string;
let cluster: ClusterSpec;
/** The board's sudo password (the test user's login password): must never reach a log, the progress or a command line. */
let SUDO_PASSWORD: string;

/** The built command, with this test's HOME (for `~` in the key path) and state folder. */
function boardkube(...args: string[]) {
  return runAsync([...boardkubeCommand(), ...args], { HOME: home, BOARDKUBE_STATE_DIR: stateDir, BOARDKUBE_SUDO_PASSWORD: '' });
}

function statePath(): string {
  return path.join(stateDir, `${cluster.name}.json`);
}

/** Every file under a folder, as text. */
function allText(folder: string): string {
  let text = '';
  for (const e of fs.readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) text += fs.readFileSync(path.join(e.parentPath, e.name), 'utf8');
  }
  return text;
}

beforeAll(async () => {
  board = await startSystemBoard({ sudo: 'password' });
  SUDO_PASSWORD = board.sudoPassword!;
  expect(SUDO_PASSWORD.length).toBeGreaterThan(8);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-e2e-real-'));
  home = path.join(dir, 'home');
  fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
  fs.copyFileSync(board.clientKeyPath, path.join(home, '.ssh', 'board_key'));
  fs.chmodSync(path.join(home, '.ssh', 'board_key'), 0o600);
  fs.copyFileSync(`${board.clientKeyPath}.pub`, path.join(home, '.ssh', 'board_key.pub'));
  stateDir = path.join(dir, 'state');
  passwordFile = path.join(dir, 'sudo.pw');
  fs.writeFileSync(passwordFile, `${SUDO_PASSWORD}\n`, { mode: 0o600 });
  const base = defaultCluster('~/.ssh/board_key');
  cluster = { ...base, network: { ...base.network, lan: '127.0.0.0/8', gateway: '127.0.0.1', dns: ['127.0.0.1'] }, nodes: [{ name: NODE, role: 'control-plane', address: board.address }], ssh: { user: board.user, keyPath: '~/.ssh/board_key', port: board.port } };
  file = path.join(dir, 'cluster.yaml');
  writeClusterFile(file, cluster);
  expect(board.port).not.toBe(22);
}, 600_000);

afterAll(async () => {
  await board?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the built command against a real OpenSSH board, with the real ports', () => {
  it('apply --stage configure: every step up to swap-off runs on the board for real; kernel-settings fails only at modprobe', async () => {
    const r = await boardkube('apply', '-f', file, '--stage', 'configure', '--yes', '--sudo-password-file', passwordFile);
    expect(r.code, r.out).toBe(1);
    const state = readState(statePath());
    for (const step of BEFORE_KERNEL_SETTINGS) expect(state.steps[`configure/${step}@${NODE}`]?.status, `${step}: ${state.steps[`configure/${step}@${NODE}`]?.error ?? ''}\n${r.out}`).toBe('done');
    const ks = state.steps[`configure/kernel-settings@${NODE}`];
    expect(ks?.status).toBe('failed');
    expect(ks?.error).toMatch(/modprobe/);
    // The host key was pinned into the saved progress on first use.
    expect(state.hostKeys[NODE]?.fingerprint).toBe(board.hostKeyFingerprint);
    // What the steps report, and what the board's files say.
    expect(state.steps[`configure/time@${NODE}`]?.outputs).toMatchObject({ synchronized: 'yes' });
    expect(state.steps[`configure/connect@${NODE}`]?.outputs).toMatchObject({ arch: 'aarch64', os: 'archarm', hostname: 'alarm' });
    expect(fs.readFileSync(board.path('/etc/hostname'), 'utf8')).toBe(`${NODE}\n`);
    expect(fs.readFileSync(board.path('/etc/hosts'), 'utf8')).toContain(hostsBlock(cluster));
    expect(fs.readlinkSync(board.path('/etc/localtime'))).toBe(`../usr/share/zoneinfo/${cluster.timezone}`);
    expect(fs.readFileSync(board.path('/etc/fstab'), 'utf8')).toMatch(/^# swap off for Kubernetes \(boardkube\): \/swapfile/m);
    const installed = fs.readdirSync(board.path('/var/lib/pacman/local'));
    expect(installed).toContain('linux-aarch64-6.17.9-1');
    expect(installed).toContain('boardkube-test-base-1-2');
    expect(installed.some((p) => p.startsWith('linux-odroid-n2-'))).toBe(false);
    expect(fs.existsSync(board.path('/etc/pacman.d/gnupg/pubring.gpg')) || fs.existsSync(board.path('/etc/pacman.d/gnupg/pubring.kbx'))).toBe(true);
    // The kernel step rebooted the board once, into the kernel with cgroup v2.
    expect(board.reboots()).toBe(1);
    expect(state.steps[`configure/kernel@${NODE}`]?.outputs).toMatchObject({ cgroup: 'cgroup2fs' });
    // The files kernel-settings wrote before modprobe failed: root's, world-readable.
    const conf = fs.statSync(board.path('/etc/modules-load.d/k8s.conf'));
    expect([conf.uid, conf.mode & 0o777]).toEqual([0, 0o644]);
    // The run log names the sudo commands; the sudo password is in no file of the state folder.
    const saved = allText(stateDir);
    expect(saved).toMatch(/sudo /);
    expect(saved).not.toContain(SUDO_PASSWORD);
    expect(r.out).not.toContain(SUDO_PASSWORD);
  }, 600_000);

  it('status --verify probes the board again through the pinned host key: every done step is still done', async () => {
    const r = await boardkube('status', '-f', file, '--verify', '--json', '--sudo-password-file', passwordFile);
    expect(r.code, r.out).toBe(0);
    const verified = (JSON.parse(r.stdout) as { verified: Array<{ stage: string; step: string; ok: boolean; error?: string }> }).verified.filter((v) => v.stage === 'configure');
    expect(verified.map((v) => v.step).sort()).toEqual([...BEFORE_KERNEL_SETTINGS].sort());
    for (const v of verified) expect(v.ok, `${v.step}: ${v.error ?? ''}`).toBe(true);
  }, 300_000);

  it('a re-flashed board (a new host key) is refused; reset --forget-host-key lets the next run pin the new key', async () => {
    const old = board.hostKeyFingerprint;
    await board.restart({ newHostKey: true });
    expect(board.hostKeyFingerprint).not.toBe(old);
    const refused = await boardkube('status', '-f', file, '--verify', '--json', '--sudo-password-file', passwordFile);
    const connect = (JSON.parse(refused.stdout) as { verified: Array<{ step: string; ok: boolean; error?: string }> }).verified.find((v) => v.step === 'connect');
    expect(connect?.ok).toBe(false);
    expect(connect?.error).toMatch(/host key of n2-master .* has changed/);
    expect(readState(statePath()).hostKeys[NODE]?.fingerprint).toBe(old);
    const reset = await boardkube('reset', '-f', file, '--forget-host-key', NODE);
    expect(reset.code, reset.out).toBe(0);
    expect(readState(statePath()).hostKeys[NODE]).toBeUndefined();
    const again = await boardkube('status', '-f', file, '--verify', '--json', '--sudo-password-file', passwordFile);
    expect(again.code, again.out).toBe(0);
    const verified = (JSON.parse(again.stdout) as { verified: Array<{ step: string; ok: boolean; error?: string }> }).verified;
    for (const v of verified.filter((x) => BEFORE_KERNEL_SETTINGS.includes(x.step))) expect(v.ok, `${v.step}: ${v.error ?? ''}`).toBe(true);
    // status only looks (it never writes the progress); the next apply pins the new key, and runs no done step again.
    expect(readState(statePath()).hostKeys[NODE]).toBeUndefined();
    const runsBefore = readState(statePath()).steps;
    const resumed = await boardkube('apply', '-f', file, '--stage', 'configure', '--yes', '--sudo-password-file', passwordFile);
    expect(resumed.code, resumed.out).toBe(1);
    const after = readState(statePath());
    expect(after.hostKeys[NODE]?.fingerprint).toBe(board.hostKeyFingerprint);
    for (const step of BEFORE_KERNEL_SETTINGS) expect(after.steps[`configure/${step}@${NODE}`]?.runs, step).toBe(runsBefore[`configure/${step}@${NODE}`]?.runs);
  }, 300_000);
});
