// The practice lab's card readers: simulated cards behind the same Disks port as the real adapter, with
// realistic timings (scaled by the lab speed) and faults a trainer can switch on: a card pulled out half-way
// through writing, and a download whose checksum does not match. The flows cannot tell them from real ones.
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Json } from '../engine/types.ts';
import {
  DiskError,
  isInside,
  partitionPath,
  type BlockDevice,
  type DiskOp,
  type Disks,
  type FetchResult,
  type FileFacts,
  type OpOptions,
  type PartitionTableDump,
  type TarballFacts,
} from '../ports/disks.ts';

export const LAB_CARD_FAULTS = {
  'card-pulled-out': 'the card is pulled out of the reader half-way through unpacking',
  'checksum-mismatch': 'the downloaded tarball does not match its .md5',
} as const;
export type LabCardFault = keyof typeof LAB_CARD_FAULTS;

interface LabFile {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  /** base64 */
  data?: string;
  target?: string;
  mtimeMs: number;
}

interface LabFs {
  fs: 'vfat' | 'ext4';
  label: string;
  uuid: string;
  files: Record<string, LabFile>;
}

interface LabCard {
  path: string;
  name: string;
  model: string;
  serial: string;
  transport: string;
  removable: boolean;
  sizeBytes: number;
  system?: boolean;
  systemReason?: string;
  /** Mount points of a filesystem this computer mounted itself (a USB stick with photos). */
  foreignMounts?: string[];
  present: boolean;
  table?: PartitionTableDump;
  /** What is written before the first partition (bootloader): the first 4 MiB, deflated then base64 (mostly zeros). */
  head?: string;
  parts: Record<string, LabFs>;
}

interface LabCardsSnapshot {
  cards: LabCard[];
  mounts: Record<string, string>;
  local: Record<string, { size: number; mtimeMs: number; data?: string }>;
  faults: Array<{ fault: LabCardFault; device?: string }>;
}

/** The world the lab keeps its parts in (LabWorld): saved with the progress, so resume works in the lab too. */
export interface LabPartsHandle {
  part(name: string): Json | undefined;
  attach(name: string, snapshot: () => Json): void;
  persist(): void;
  speed: number;
}

const HEAD = 4 * 1024 * 1024;
const TARBALL_BYTES = 640e6;
const UNPACKED_BYTES = 1.7e9;
/** Tarball download and card write speeds at lab speed 1 (bytes/s). */
const NET_RATE = 12e6;
const CARD_RATE = 22e6;

/** The readers added so that every board has one of its own (the four in defaultCards and these). */
const EXTRA_READERS = ['/dev/sde', '/dev/sdf', '/dev/sdg', '/dev/sdh', '/dev/sdi', '/dev/sdj', '/dev/sdk', '/dev/sdl'];

/** A card's first 4 MiB. Saved deflated: raw, one card's zeros made the progress file 5.6 MB. */
function readHead(card: LabCard): Buffer {
  if (!card.head) return Buffer.alloc(HEAD);
  const saved = Buffer.from(card.head, 'base64');
  // Progress saved before heads were deflated holds the 4 MiB as they are.
  return saved.length === HEAD ? saved : inflateRawSync(saved);
}

function defaultCards(readers: number): LabCard[] {
  const card = (path: string, model: string, transport: string, gb: number, extra: Partial<LabCard> = {}): LabCard => ({
    path,
    name: path.replace('/dev/', ''),
    model,
    serial: createHash('sha1').update(path).digest('hex').slice(0, 12).toUpperCase(),
    transport,
    removable: transport !== 'nvme',
    sizeBytes: gb * 1e9,
    present: true,
    parts: {},
    ...extra,
  });
  return [
    card('/dev/nvme0n1', 'Samsung SSD 980 1TB', 'nvme', 1000, { system: true, systemReason: 'holds /, holds /boot', removable: false }),
    card('/dev/sda', 'Generic SD/MMC Reader (SanDisk Ultra 32GB)', 'usb', 32),
    card('/dev/sdb', 'Generic SD/MMC Reader (Samsung EVO 64GB)', 'usb', 64),
    card('/dev/mmcblk0', 'SD card slot (Kingston Canvas 16GB)', 'mmc', 16),
    card('/dev/sdc', 'Intenso USB stick', 'usb', 8, { foreignMounts: ['/media/trainer/PHOTOS'] }),
    card('/dev/sdd', 'eMMC-to-USB adapter (Hardkernel eMMC 8GB)', 'usb', 8),
    ...EXTRA_READERS.slice(0, Math.max(0, readers - 4)).map((path, i) => card(path, `Generic SD/MMC Reader ${i + 2} (SanDisk Ultra 32GB)`, 'usb', 32)),
  ];
}

/** The devices of the lab's card readers (and its other disks), as a fresh lab has them for this many boards. */
export function labCardDevices(readers: number): string[] {
  return defaultCards(readers).map((c) => c.path);
}

/** A root filesystem shaped like ArchLinuxARM-odroid-n2-latest, as the lab's tarball unpacks it. */
function labRootFiles(now: number): Record<string, LabFile> {
  const f = (text: string | Buffer, mode = 0o644): LabFile => ({ type: 'file', mode, data: Buffer.from(text).toString('base64'), mtimeMs: now });
  const d = (mode = 0o755): LabFile => ({ type: 'dir', mode, mtimeMs: now });
  const elf = Buffer.alloc(64);
  elf.write('\x7fELF', 0, 'latin1');
  elf[4] = 2;
  elf[5] = 1;
  elf.writeUInt16LE(183, 18);
  const uboot = createHash('sha512').update('lab u-boot').digest();
  const ubootFile = Buffer.concat(Array.from({ length: 64 }, (_v, i) => createHash('sha512').update(uboot).update(String(i)).digest()));
  return {
    boot: d(),
    'boot/Image': f(Buffer.alloc(4096, 1)),
    'boot/initramfs-linux.img': f(Buffer.alloc(2048, 2)),
    'boot/dtbs': d(),
    'boot/dtbs/amlogic': d(),
    'boot/dtbs/amlogic/meson-g12b-odroid-n2.dtb': f('dtb n2'),
    'boot/dtbs/amlogic/meson-g12b-odroid-n2-plus.dtb': f('dtb n2+'),
    'boot/u-boot.bin.sd.bin': f(ubootFile),
    etc: d(),
    'etc/hostname': f('alarm\n'),
    'etc/machine-id': f('5a1ab0a7d1ce5a1ab0a7d1ce5a1ab0a7\n', 0o444),
    'etc/fstab': f('/dev/mmcblk1p1  /boot   vfat    defaults        0       0\n'),
    'etc/ssh': d(),
    'etc/ssh/sshd_config': f('Include /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysFile .ssh/authorized_keys\n'),
    'etc/systemd': d(),
    'etc/systemd/network': d(),
    'etc/systemd/network/eth.network': f('[Match]\nName=eth*\n\n[Network]\nDHCP=yes\n'),
    root: d(0o750),
    usr: d(),
    'usr/bin': d(),
    'usr/bin/bash': f(elf, 0o755),
    var: d(),
    'var/lib': d(),
    'var/lib/dbus': d(),
    'var/lib/dbus/machine-id': { type: 'symlink', mode: 0o777, target: '/etc/machine-id', mtimeMs: now },
  };
}

export const LAB_TARBALL_MD5 = createHash('md5').update('boardkube practice lab ArchLinuxARM-odroid-n2-latest').digest('hex');

export interface LabCardsOptions {
  /** 1 = realistic timings, 0 = instant. Default: the world's speed, else 1. */
  speed?: number;
  world?: LabPartsHandle;
  ownMountBase?: string;
  /** How many card readers a fresh lab has: one per board (at least the four of the classic set). */
  readers?: number;
}

export class LabCards implements Disks {
  readonly ownMountBase: string;
  #s: LabCardsSnapshot;
  readonly #speed: number;
  readonly #world?: LabPartsHandle;

  constructor(o: LabCardsOptions = {}) {
    this.ownMountBase = o.ownMountBase ?? '/tmp/boardkube-flash';
    this.#world = o.world;
    this.#speed = o.speed ?? o.world?.speed ?? 1;
    const saved = o.world?.part('cards') as unknown as LabCardsSnapshot | undefined;
    this.#s = saved && Array.isArray(saved.cards) ? saved : { cards: defaultCards(o.readers ?? 4), mounts: {}, local: {}, faults: [] };
    o.world?.attach('cards', () => this.#s as unknown as Json);
  }

  // --- the trainer's controls -------------------------------------------------------------------------

  setFault(fault: LabCardFault, on: boolean, device?: string): void {
    if (!(fault in LAB_CARD_FAULTS)) throw new Error(`unknown card fault "${fault}"; known: ${Object.keys(LAB_CARD_FAULTS).join(', ')}`);
    this.#s.faults = this.#s.faults.filter((f) => !(f.fault === fault && f.device === device));
    if (on) this.#s.faults.push({ fault, device });
    this.#persist();
  }

  /** Switches every card fault off, for one device or (none given) all of them. */
  clearFaults(device?: string): void {
    this.#s.faults = this.#s.faults.filter((f) => device !== undefined && f.device !== device);
    this.#persist();
  }

  /** The card faults that are on: "cards:FAULT" for every card, "DEV:FAULT" for one. */
  activeFaults(): string[] {
    return this.#s.faults.map((f) => `${f.device ?? 'cards'}:${f.fault}`);
  }

  /** Every device the lab has (present or not). */
  devices(): string[] {
    return this.#s.cards.map((c) => c.path);
  }

  /** Devices whose card was ejected or pulled out. */
  removed(): string[] {
    return this.#s.cards.filter((c) => !c.present).map((c) => c.path);
  }

  /** Puts a pulled-out or ejected card back into its reader (its content as it was when it came out). */
  insert(device: string): void {
    const c = this.#s.cards.find((x) => x.path === device);
    if (!c) throw new Error(`the practice lab has no card reader ${device}`);
    c.present = true;
    this.#persist();
  }

  #fault(fault: LabCardFault, device?: string): boolean {
    return this.#s.faults.some((f) => f.fault === fault && (!f.device || !device || f.device === device));
  }

  #persist(): void {
    this.#world?.persist();
  }

  async #wait(ms: number, signal?: AbortSignal): Promise<void> {
    const t = ms * this.#speed;
    if (t <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, t);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason ?? new Error('aborted'));
      }, { once: true });
    });
  }

  /** Moves `total` bytes at `rate`, reporting progress; `breakAt` (0..1) pulls the card out there. */
  async #transfer(total: number, rate: number, opts: OpOptions, breakAt?: () => void): Promise<void> {
    const steps = 20;
    for (let i = 1; i <= steps; i++) {
      await this.#wait(total / rate / steps * 1000, opts.signal);
      opts.signal?.throwIfAborted();
      if (breakAt && i === Math.round(steps * 0.4)) breakAt();
      opts.progress?.({ done: Math.round((total * i) / steps), total, rate });
    }
  }

  // --- facts ----------------------------------------------------------------------------------------

  #device(c: LabCard): BlockDevice {
    const own = Object.entries(this.#s.mounts).filter(([, src]) => src.startsWith(c.path)).map(([t]) => t);
    return {
      path: c.path,
      name: c.name,
      sizeBytes: c.sizeBytes,
      model: c.model,
      transport: c.transport,
      removable: c.removable,
      mountpoints: [...(c.system ? ['/', '/boot'] : []), ...(c.foreignMounts ?? []), ...own],
      system: c.system ?? false,
      systemReason: c.systemReason ?? '',
      serial: c.serial,
      type: 'disk',
      readOnly: false,
      majMin: c.transport === 'mmc' ? '179:0' : '8:0',
      partitions: (c.table?.partitions ?? []).map((p) => ({ path: p.node, sizeBytes: p.size * 512, fstype: c.parts[p.node]?.fs ?? '', label: c.parts[p.node]?.label ?? '', mountpoints: Object.entries(this.#s.mounts).filter(([, s]) => s === p.node).map(([t]) => t) })),
    };
  }

  async list(): Promise<BlockDevice[]> {
    await this.#wait(30);
    return this.#s.cards.filter((c) => c.present).map((c) => this.#device(c));
  }

  async get(path: string): Promise<BlockDevice | null> {
    const c = this.#s.cards.find((x) => x.path === path && x.present);
    return c ? this.#device(c) : null;
  }

  async mountedAt(dir: string): Promise<string | null> {
    return this.#s.mounts[dir] ?? null;
  }

  #card(device: string): LabCard {
    const c = this.#s.cards.find((x) => x.path === device);
    if (!c || !c.present) throw new DiskError('gone', `${device} is not there any more (card pulled out?)`, 'put the card back and run the same command again: finished steps are not repeated');
    return c;
  }

  /** The filesystem and the path inside it for a path under a mount point. */
  #locate(path: string): { fs: LabFs; rel: string } | null {
    for (const [target, source] of Object.entries(this.#s.mounts)) {
      if (isInside(path, target)) {
        const card = this.#s.cards.find((c) => source.startsWith(c.path));
        const fs = card?.parts[source];
        if (!fs || !card?.present) return null;
        return { fs, rel: path.slice(target.length).replace(/^\/+/, '') };
      }
    }
    return null;
  }

  // --- changes --------------------------------------------------------------------------------------

  async exec(op: DiskOp, opts: OpOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const card = op.device ? this.#card(op.device) : undefined;
    if (card?.system) throw new DiskError('refused', `refusing to touch ${card.path}: it is this computer's system disk (${card.systemReason})`);
    if (card?.foreignMounts?.length) throw new DiskError('refused', `refusing to touch ${card.path}: it is mounted at ${card.foreignMounts.join(', ')}`, `unmount it first (umount ${card.foreignMounts.join(' ')})`);
    const now = Date.now();
    switch (op.op) {
      case 'partition': {
        await this.#wait(300, opts.signal);
        card!.table = {
          label: 'dos',
          id: op.table.id,
          sectorSize: 512,
          partitions: op.table.partitions.map((p, i) => ({ node: partitionPath(card!.path, i + 1), start: p.start, size: p.size ?? Math.floor(card!.sizeBytes / 512) - p.start, type: p.type })),
        };
        card!.parts = {};
        break;
      }
      case 'reread':
        await this.#wait(200, opts.signal);
        break;
      case 'mkfs':
        await this.#wait(op.fs === 'ext4' ? 2500 : 400, opts.signal);
        card!.parts[op.partition] = { fs: op.fs, label: op.label, uuid: op.uuid, files: {} };
        break;
      case 'mkdir': {
        const loc = this.#locate(op.path);
        if (loc) loc.fs.files[loc.rel] = { type: 'dir', mode: op.mode, mtimeMs: now };
        break;
      }
      case 'mount':
        if (!card!.parts[op.partition]) throw new DiskError('io', `mount: ${op.partition}: wrong fs type, bad superblock`);
        this.#s.mounts[op.target] = op.partition;
        break;
      case 'umount':
        delete this.#s.mounts[op.target];
        break;
      case 'extract': {
        const loc = this.#locate(op.target);
        if (!loc) throw new DiskError('io', `${op.target} is not mounted`);
        const pull = this.#fault('card-pulled-out', card!.path)
          ? () => {
              card!.present = false;
              for (const [t, s] of Object.entries(this.#s.mounts)) if (s.startsWith(card!.path)) delete this.#s.mounts[t];
              this.#persist();
              throw new DiskError('gone', `${card!.path} disappeared during "${op.describe}" (card pulled out?)`, 'put the card back and run the same command again: the card is written again from the step that broke');
            }
          : undefined;
        await this.#transfer(this.#s.local[op.tarball]?.size ?? TARBALL_BYTES, CARD_RATE * (TARBALL_BYTES / UNPACKED_BYTES), opts, pull);
        Object.assign(loc.fs.files, labRootFiles(now));
        break;
      }
      case 'dd': {
        const src = await this.readFile(op.input);
        if (!src) throw new DiskError('io', `dd: ${op.input}: No such file or directory`);
        const head = readHead(card!);
        const from = op.skip * op.bs;
        const len = op.count !== undefined ? op.count * op.bs : src.length - from;
        src.copy(head, op.seek * op.bs, from, from + len);
        card!.head = deflateRawSync(head).toString('base64');
        await this.#wait(len / 2e6 * 1000, opts.signal);
        break;
      }
      case 'mkimage': {
        const txt = await this.readFile(op.input);
        if (!txt) throw new DiskError('io', `mkimage: ${op.input}: No such file`);
        const loc = this.#locate(op.output)!;
        const header = Buffer.alloc(72);
        header.writeUInt32BE(0x27051956, 0);
        header.writeUInt32BE(txt.length + 8, 12);
        header.write('boardkube boot script', 32, 'latin1');
        header.writeUInt32BE(txt.length, 64);
        loc.fs.files[loc.rel] = { type: 'file', mode: 0o644, data: Buffer.concat([header, txt]).toString('base64'), mtimeMs: now };
        break;
      }
      case 'fat-copy-in': {
        const loc = this.#locate(op.sourceDir)!;
        const fat = card!.parts[op.partition];
        if (!fat) throw new DiskError('io', `${op.partition}: not a FAT filesystem`);
        const prefix = loc.rel ? `${loc.rel}/` : '';
        for (const [p, f] of Object.entries(loc.fs.files)) if (p.startsWith(prefix)) fat.files[p.slice(prefix.length)] = { ...f };
        await this.#wait(800, opts.signal);
        break;
      }
      case 'fat-copy-out': {
        const fat = card!.parts[op.partition];
        const f = fat?.files[op.file.replace(/^\//, '')];
        if (!f?.data) throw new DiskError('io', `mcopy: ::${op.file}: not found`);
        this.#s.local[op.dest] = { size: Buffer.from(f.data, 'base64').length, mtimeMs: now, data: f.data };
        break;
      }
      case 'clear-dir': {
        const loc = this.#locate(op.path)!;
        for (const p of Object.keys(loc.fs.files)) if (p.startsWith(`${loc.rel}/`)) delete loc.fs.files[p];
        break;
      }
      case 'write-file': {
        const loc = this.#locate(op.path);
        if (!loc) throw new DiskError('io', `${op.path}: not on a mounted card`);
        loc.fs.files[loc.rel] = { type: 'file', mode: op.mode, data: Buffer.from(op.content).toString('base64'), mtimeMs: now };
        break;
      }
      case 'symlink': {
        const loc = this.#locate(op.path)!;
        loc.fs.files[loc.rel] = { type: 'symlink', mode: 0o777, target: op.target, mtimeMs: now };
        break;
      }
      case 'remove': {
        const loc = this.#locate(op.path);
        if (loc) delete loc.fs.files[loc.rel];
        break;
      }
      case 'sync':
        await this.#wait(1500, opts.signal);
        break;
      case 'eject':
        card!.present = false;
        opts.log?.(`practice lab: ${card!.path} ejected (put it back with the lab controls to flash it again)`);
        break;
    }
    this.#persist();
  }

  // --- read-backs -----------------------------------------------------------------------------------

  async readTable(device: string): Promise<PartitionTableDump | null> {
    return this.#card(device).table ?? null;
  }

  async readBytes(path: string, offset: number, length: number): Promise<Buffer> {
    const card = this.#s.cards.find((c) => c.present && (c.path === path || path.startsWith(c.path)));
    if (!card) throw new DiskError('gone', `cannot open ${path}`);
    if (path === card.path) {
      const head = readHead(card);
      return head.subarray(offset, offset + length);
    }
    // a partition: a superblock as the real filesystems lay it out, enough for the checks
    const fs = card.parts[path];
    const b = Buffer.alloc(length);
    if (!fs) return b;
    if (fs.fs === 'vfat' && offset === 0) {
      b.write('FAT32   ', 82, 'latin1');
      b.writeUInt32LE(parseInt(fs.uuid.replace('-', ''), 16), 67);
    }
    if (fs.fs === 'ext4' && offset === 1024) {
      b.writeUInt16LE(0xef53, 56);
      Buffer.from(fs.uuid.replace(/-/g, ''), 'hex').copy(b, 104);
    }
    return b;
  }

  async readFile(path: string): Promise<Buffer | null> {
    const loc = this.#locate(path);
    if (loc) {
      const f = loc.fs.files[loc.rel];
      return f?.type === 'file' ? Buffer.from(f.data ?? '', 'base64') : null;
    }
    const l = this.#s.local[path];
    return l ? Buffer.from(l.data ?? '', 'base64') : null;
  }

  async readFat(partition: string, path: string): Promise<Buffer | null> {
    const card = this.#s.cards.find((c) => c.present && partition.startsWith(c.path));
    const f = card?.parts[partition]?.files[path.replace(/^\//, '')];
    return f?.type === 'file' ? Buffer.from(f.data ?? '', 'base64') : null;
  }

  async listFat(partition: string): Promise<string[]> {
    const card = this.#s.cards.find((c) => c.present && partition.startsWith(c.path));
    const fs = card?.parts[partition];
    if (!fs) throw new DiskError('io', `${partition}: not a FAT filesystem`);
    return Object.entries(fs.files).map(([p, f]) => `/${p}${f.type === 'dir' ? '/' : ''}`);
  }

  async stat(path: string): Promise<FileFacts | null> {
    const loc = this.#locate(path);
    if (loc) {
      if (loc.rel === '') return { type: 'dir', size: 0, mode: 0o755, mtimeMs: 0 };
      const f = loc.fs.files[loc.rel];
      if (!f) return null;
      return { type: f.type, size: f.data ? Buffer.from(f.data, 'base64').length : 0, mode: f.mode, mtimeMs: f.mtimeMs, target: f.target };
    }
    const l = this.#s.local[path];
    return l ? { type: 'file', size: l.size, mode: 0o644, mtimeMs: l.mtimeMs } : null;
  }

  // --- images ---------------------------------------------------------------------------------------

  async fetch(url: string, dest: string, opts: OpOptions = {}): Promise<FetchResult> {
    await this.#transfer(TARBALL_BYTES, NET_RATE, opts);
    this.#s.local[dest] = { size: TARBALL_BYTES, mtimeMs: Date.now() };
    this.#persist();
    void url;
    return { bytes: TARBALL_BYTES, resumedFrom: 0, retries: 0 };
  }

  async fetchText(url: string): Promise<string> {
    await this.#wait(100);
    if (url.endsWith('.md5')) return `${LAB_TARBALL_MD5}  ${url.split('/').pop()!.replace(/\.md5$/, '')}\n`;
    throw new DiskError('missing', `cannot fetch ${url}: HTTP 404`);
  }

  async inspectTarball(path: string, opts: OpOptions = {}): Promise<TarballFacts> {
    const l = this.#s.local[path];
    if (!l) throw new DiskError('missing', `${path} does not exist`);
    await this.#transfer(l.size, 180e6, opts);
    const files = labRootFiles(0);
    return {
      entries: Object.keys(files).length,
      uncompressedBytes: UNPACKED_BYTES,
      compressedBytes: l.size,
      bootFiles: Object.entries(files).filter(([p]) => p.startsWith('boot/')).map(([p, f]) => (f.type === 'dir' ? `${p}/` : p)),
      kernelVersions: ['6.17.9-1-aarch64-ARCH'],
      elf: { path: 'usr/bin/bash', machine: 183, class: 64 },
      md5: this.#fault('checksum-mismatch') ? createHash('md5').update(`damaged ${Date.now()}`).digest('hex') : LAB_TARBALL_MD5,
    };
  }

  async writeLocalFile(path: string, content: string): Promise<void> {
    this.#s.local[path] = { size: content.length, mtimeMs: Date.now(), data: Buffer.from(content).toString('base64') };
    this.#persist();
  }

  async discard(path: string): Promise<void> {
    delete this.#s.local[path];
    this.#persist();
  }

  async freeBytes(): Promise<number> {
    return 200e9;
  }

  async verifySignature(): Promise<{ status: 'good' | 'bad' | 'unavailable'; detail: string }> {
    return { status: 'unavailable', detail: 'the practice lab has no gpg key to check with' };
  }
}
