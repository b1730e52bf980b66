// The Disks port: SD cards and eMMC modules in this computer's card readers (real: lsblk, sfdisk, mkfs,
// bsdtar, dd; lab: simulated cards in src/lab/cards.ts). Flows describe every change to a card as a DiskOp:
// the same value is shown by `plan` (its command line) and performed by `exec`, so what is shown is what runs.

export interface PartitionInfo {
  /** e.g. /dev/sdb1, /dev/loop3p1 */
  path: string;
  sizeBytes: number;
  fstype: string;
  label: string;
  mountpoints: string[];
}

export interface BlockDevice {
  /** e.g. /dev/sdb, /dev/mmcblk0, /dev/loop3 */
  path: string;
  sizeBytes: number;
  model: string;
  /** usb, mmc, sata, nvme, loop, virtio, ... as lsblk reports it ("" when unknown) */
  transport: string;
  removable: boolean;
  /** Mount points of the device and its partitions (and of anything stacked on them). */
  mountpoints: string[];
  /** Holds /, /boot or swap of this computer. */
  system: boolean;
  /** Why it counts as the system disk, e.g. "holds /" ("" when it does not). */
  systemReason?: string;
  /** Kernel name, e.g. sdb. */
  name?: string;
  /** "8:16" */
  majMin?: string;
  readOnly?: boolean;
  serial?: string;
  /** lsblk TYPE: disk, loop, rom, ... */
  type?: string;
  /** A loop device's backing file. */
  backingFile?: string;
  partitions?: PartitionInfo[];
}

/** A partition as it should be written, in 512-byte sectors (what sfdisk takes). */
export interface PartitionEntry {
  start: number;
  /** undefined: to the end of the disk. */
  size?: number;
  type: string;
}

export interface PartitionTableSpec {
  label: 'dos';
  /** MBR disk identifier, e.g. 0x1a2b3c4d (PARTUUIDs are ID-01, ID-02). */
  id: string;
  partitions: PartitionEntry[];
}

/** What `sfdisk --json` reads back. */
export interface PartitionTableDump {
  label: string;
  id: string;
  sectorSize: number;
  partitions: Array<{ node: string; start: number; size: number; type: string }>;
}

interface OpBase {
  /** One line for a person: what this does. */
  describe: string;
  /** The block device it changes (for the safety checks), or undefined for host-only work. */
  device?: string;
}

/**
 * One change to a card or to this computer's mount points. `argv` is the exact program and arguments the real
 * adapter runs (plans print it); the other fields say the same thing typed, for the lab and the safety checks.
 */
export type DiskOp =
  | (OpBase & { op: 'partition'; device: string; table: PartitionTableSpec; argv: string[]; stdin: string })
  | (OpBase & { op: 'reread'; device: string; nodes: string[]; timeoutMs: number; argv: string[] })
  | (OpBase & { op: 'mkfs'; device: string; partition: string; fs: 'vfat' | 'ext4'; label: string; uuid: string; argv: string[] })
  | (OpBase & { op: 'mount'; device: string; partition: string; target: string; argv: string[] })
  | (OpBase & { op: 'umount'; device: string; target: string; argv: string[] })
  | (OpBase & { op: 'extract'; device: string; tarball: string; target: string; totalBytes: number; argv: string[] })
  | (OpBase & { op: 'dd'; device: string; input: string; bs: number; skip: number; seek: number; count?: number; argv: string[] })
  | (OpBase & { op: 'mkimage'; device: string; input: string; output: string; argv: string[] })
  | (OpBase & { op: 'write-file'; device: string; path: string; content: string; mode: number; touchNow?: boolean })
  | (OpBase & { op: 'symlink'; device: string; path: string; target: string })
  | (OpBase & { op: 'remove'; device: string; path: string })
  | (OpBase & { op: 'mkdir'; device?: string; path: string; mode: number })
  | (OpBase & { op: 'fat-copy-in'; device: string; partition: string; sourceDir: string; argv: string[] })
  | (OpBase & { op: 'fat-copy-out'; device: string; partition: string; file: string; dest: string; argv: string[] })
  | (OpBase & { op: 'clear-dir'; device: string; path: string; argv: string[] })
  | (OpBase & { op: 'sync'; device: string; argv: string[] })
  | (OpBase & { op: 'eject'; device: string; argv: string[] });

export interface OpProgress {
  done: number;
  total: number;
  /** bytes per second over the last seconds */
  rate?: number;
}

export interface OpOptions {
  signal?: AbortSignal;
  progress?: (p: OpProgress) => void;
  log?: (line: string) => void;
}

export interface FileFacts {
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  mtimeMs: number;
  /** symlink target */
  target?: string;
}

/** What a look through a root filesystem tarball found (one pass, no extraction). */
export interface TarballFacts {
  entries: number;
  /** Sum of the file sizes inside. */
  uncompressedBytes: number;
  compressedBytes: number;
  /** Paths (without leading ./ or /) of interest: boot/*, boot/dtbs/<vendor>/ entries, etc/fstab, ... */
  bootFiles: string[];
  /** Kernel versions found under usr/lib/modules/. */
  kernelVersions: string[];
  /** ELF e_machine of the first executable found under usr/bin (183 = AArch64, 62 = x86-64, 40 = ARM). */
  elf: { path: string; machine: number; class: 32 | 64 } | null;
  /** md5 of the compressed file, computed in the same pass. */
  md5: string;
  /** Set when gunzip or the tar reader failed: the facts above are incomplete. */
  damaged?: string;
}

export interface FetchResult {
  bytes: number;
  /** Where the download continued from (0: from the start). */
  resumedFrom: number;
  /** How many times the connection broke and was resumed. */
  retries: number;
}

export type DiskErrorKind = 'gone' | 'busy' | 'refused' | 'timeout' | 'io' | 'network' | 'aborted' | 'missing';

export class DiskError extends Error {
  constructor(readonly kind: DiskErrorKind, message: string, readonly fix?: string) {
    super(fix ? `${message}\n  fix: ${fix}` : message);
    this.name = 'DiskError';
  }
}

export interface Disks {
  /** Every block device of this computer (cards and the system disk alike, with facts to choose by). */
  list(signal?: AbortSignal): Promise<BlockDevice[]>;
  /** Fresh facts about one device; null when it is not there (card pulled out). */
  get(path: string, signal?: AbortSignal): Promise<BlockDevice | null>;
  /**
   * Performs one change. Refuses (DiskError 'refused') any change to the system disk or to a device mounted
   * anywhere except under `ownMountBase`, whatever the flow asked: the last line of defence.
   */
  exec(op: DiskOp, opts?: OpOptions): Promise<void>;
  /** Where this adapter mounts cards (per device: BASE/<name>/root, BASE/<name>/root/boot). */
  readonly ownMountBase: string;
  /** Mount source of a directory, or null when nothing is mounted there. */
  mountedAt(dir: string): Promise<string | null>;

  // read-backs for verification
  readTable(device: string, signal?: AbortSignal): Promise<PartitionTableDump | null>;
  readBytes(device: string, offset: number, length: number): Promise<Buffer>;
  readFile(path: string): Promise<Buffer | null>;
  /** A file on a FAT partition that is not mounted (read with mtools), e.g. readFat('/dev/sdb1', '/boot.scr'). */
  readFat(partition: string, path: string): Promise<Buffer | null>;
  /** Every path on a FAT partition ('/Image', '/dtbs/', ...). */
  listFat(partition: string): Promise<string[]>;
  stat(path: string): Promise<FileFacts | null>;

  // images
  /** Downloads url to dest, resuming dest + ".part" with HTTP Range after a broken connection or an earlier run. */
  fetch(url: string, dest: string, opts?: OpOptions): Promise<FetchResult>;
  fetchText(url: string, signal?: AbortSignal): Promise<string>;
  /** md5 + a look through the tarball in one read. */
  inspectTarball(path: string, opts?: OpOptions): Promise<TarballFacts>;
  /** Writes a small file of this computer's own (the image cache's notes), creating its folder. */
  writeLocalFile(path: string, content: string): Promise<void>;
  /** Deletes a file of the image cache (a damaged or outdated download). */
  discard(path: string): Promise<void>;
  /** Free bytes on the filesystem holding dir (created when missing). */
  freeBytes(dir: string): Promise<number>;
  /** gpg --verify when gpg and the key are at hand. */
  verifySignature(file: string, sigUrl: string, keyFingerprint: string, signal?: AbortSignal): Promise<{ status: 'good' | 'bad' | 'unavailable'; detail: string }>;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers shared by flows, adapters and the lab: pure functions of their arguments.

/** /dev/sdb + 1 = /dev/sdb1; /dev/mmcblk0 + 1 = /dev/mmcblk0p1; /dev/loop3 + 2 = /dev/loop3p2. */
export function partitionPath(device: string, n: number): string {
  return /\d$/.test(device) ? `${device}p${n}` : `${device}${n}`;
}

export function deviceName(device: string): string {
  return device.replace(/^\/dev\//, '');
}

/** Quotes one word for a POSIX shell only when needed. */
export function shQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line a person would type for an op (what `plan` shows). */
export function commandLine(op: DiskOp): string {
  switch (op.op) {
    case 'partition':
      return `${op.argv.map(shQuote).join(' ')} <<'EOF'\n${op.stdin}EOF`;
    case 'reread':
      return `${op.argv.map(shQuote).join(' ')}  # then wait up to ${Math.round(op.timeoutMs / 1000)} s for ${op.nodes.join(', ')}`;
    case 'write-file':
      return `install -D -m ${op.mode.toString(8).padStart(4, '0')} /dev/stdin ${shQuote(op.path)}${op.touchNow ? ` && touch ${shQuote(op.path)}` : ''}`;
    case 'symlink':
      return `ln -sfn ${shQuote(op.target)} ${shQuote(op.path)}`;
    case 'remove':
      return `rm -f ${shQuote(op.path)}`;
    case 'mkdir':
      return `mkdir -p -m ${op.mode.toString(8).padStart(4, '0')} ${shQuote(op.path)}`;
    default:
      return op.argv.map(shQuote).join(' ');
  }
}

/** Is `path` the same as or inside `dir`? */
export function isInside(path: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`;
  return path === dir || path.startsWith(d);
}
