// A simulated board of the practice lab: its files, a few facts the stages look at, and the faults a
// trainer can switch on. Saved with the progress, so a lab session resumes like a real one.
import { createHash, randomBytes } from 'node:crypto';
import type { Json } from '../engine/types.ts';

export const LAB_FAULTS = {
  unreachable: 'the board does not answer on the network',
  'wrong-password': 'the board refuses the login and sudo password',
  'changed-host-key': 'the board presents a different SSH host key (as after re-flashing)',
  slow: 'every command takes five times as long',
  'no-return-after-reboot': 'the board does not come back after a reboot',
  'clock-skew': 'the board\'s clock is 3 hours behind',
  'duplicate-machine-id': 'the board has the same machine-id as another board',
  'key-not-installed': 'the card was flashed by hand: the board refuses your key until it is installed with a first login as alarm',
  'swap-on': 'swap is on again (a zram device came back): kubeadm\'s preflight refuses the board',
  'port-in-use': 'something listens on port 6443 (an API server of an earlier attempt): kubeadm\'s preflight refuses the board',
  'cgroup-v1': 'the board boots with cgroup v1, which the kubelet refuses from 1.35',
  'cgroup-driver-mismatch': 'the container runtime uses cgroupfs while the kubelet uses systemd: the kubelet never becomes healthy',
  'expired-token': 'the master\'s clock is a day ahead: every join token has expired by the time a worker uses it',
  'api-unreachable': 'the board cannot reach the master\'s port 6443 (a firewall in between)',
  'disk-full': 'the board has only 300 MiB free: too little for the Kubernetes packages',
  'pacman-locked': 'another pacman is running on the board and holds its database lock',
  'runtime-fails': 'the container runtime does not start (a broken configuration)',
  'leased-elsewhere': 'another computer\'s run is working on the board: it holds (and renews) the board\'s lease until --force-unlock NODE overrides it',
  'gate-breaks-apiserver': 'the master\'s API server exits at once with the feature gates the ttl stage sets (as with a removed gate): the stage rolls back',
  'registry-no-ca': 'the board\'s runtime does not trust the cluster CA for the registry (x509: unknown authority)',
  'registry-wrong-port': "the board's runtime finds no trust for the registry's HOST:PORT: its certs.d folder is for another port (HOST:5000, the port inside the registry's pod)",
} as const;
export type LabFault = keyof typeof LAB_FAULTS;

export interface LabBoardData {
  node: string;
  address: string;
  hostKey: { type: string; fingerprint: string };
  /** Fingerprint used when the changed-host-key fault is on. */
  otherHostKey: { type: string; fingerprint: string };
  faults: LabFault[];
  files: Record<string, string>;
  /**
   * Mode and owner of the files a run wrote (absent: written by the image, 0644 root). Optional, so progress saved
   * before the lab kept them still opens.
   */
  fileModes?: Record<string, LabFileMode>;
  /**
   * Free-form facts the stage simulators keep (kernel, packages, swap, ...). `keyInstalled: true` once the first-login
   * step put the key on a board with the key-not-installed fault (absent: the key is there, as flashed by boardkube).
   */
  facts: Record<string, Json>;
  /** Epoch ms until which the board is rebooting (0 = up). */
  bootingUntil: number;
}

export interface LabFileMode {
  mode: number;
  owner: string;
}

/** A file's mode and owner as `stat -c '%a %U'` would report them. */
export function fileMode(b: LabBoardData, path: string): LabFileMode {
  return b.fileModes?.[path] ?? { mode: 0o644, owner: 'root' };
}

function fakeFingerprint(): string {
  return `SHA256:${createHash('sha256').update(randomBytes(32)).digest('base64').replace(/=+$/, '')}`;
}

export function newLabBoard(node: string, address: string, board: { arch: string }): LabBoardData {
  return {
    node,
    address,
    hostKey: { type: 'ssh-ed25519', fingerprint: fakeFingerprint() },
    otherHostKey: { type: 'ssh-ed25519', fingerprint: fakeFingerprint() },
    faults: [],
    files: {
      '/etc/hostname': 'alarm\n',
      '/etc/machine-id': '',
      '/etc/os-release': 'NAME="Arch Linux ARM"\nID=archarm\nID_LIKE=arch\nPRETTY_NAME="Arch Linux ARM"\n',
    },
    facts: {
      arch: board.arch,
      kernel: '4.9.337-13-ARCH',
      cgroup: 'tmpfs',
      memoryMiB: 3700,
      diskFreeMiB: 26000,
      machineId: randomBytes(16).toString('hex'),
    },
    bootingUntil: 0,
  };
}

/**
 * Files a board holds that only root may read (mode 0600: a join configuration with its token, ...). The lab keeps
 * them in memory for the session only, never in the saved progress, which must never hold a secret.
 */
const privateFiles = new WeakMap<LabBoardData, Map<string, string>>();

export function labPrivateFiles(b: LabBoardData): Map<string, string> {
  let files = privateFiles.get(b);
  if (!files) privateFiles.set(b, (files = new Map()));
  return files;
}

export function isFaultName(name: string): name is LabFault {
  return Object.hasOwn(LAB_FAULTS, name);
}
