// What flashing one card means, as data: paths, identifiers, file contents and the DiskOps of every step.
// Pure functions of the board profile, the cluster file, the node, the device and the image facts, so that
// `plan` shows exactly what `run` performs (both call these).
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { BoardProfile, BootloaderWrite, PartitionSpec } from '../../src/boards/types.ts';
import { parseCidr } from '../../src/cluster/net.ts';
import type { ClusterSpec, NodeSpec } from '../../src/cluster/spec.ts';
import { deviceName, partitionPath, type DiskOp, type PartitionTableSpec } from '../../src/ports/disks.ts';

/** Arch Linux ARM Build System key: signs the tarballs (.sig beside them) and the packages. */
export const ALARM_SIGNING_KEY = '68B3537F39A313B3E574D06777193F152BDBE6A6';

export const SECTOR = 512;
export const MIB_SECTORS = 2048;
/** How long to wait for the kernel to create the partition nodes after partitioning. */
export const PARTITION_NODE_TIMEOUT_MS = 15_000;

export function imageCacheDir(): string {
  if (process.env.BOARDKUBE_CACHE_DIR) return process.env.BOARDKUBE_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'boardkube', 'images');
}

export type BootloaderKind = 'mainline' | 'legacy' | 'none';

/** What the fetch-image step found out (its outputs), or the profile's expectation before it ran. */
export interface ImageFacts {
  tarball: string;
  md5: string;
  bytes: number;
  uncompressedBytes: number;
  bootloader: BootloaderKind;
  kernelVersions: string[];
}

export function expectedImage(profile: BoardProfile, image?: string): ImageFacts {
  const src = image ?? profile.tarball.url;
  const local = !/^https?:\/\//.test(src);
  return {
    tarball: local ? resolve(src) : join(imageCacheDir(), basename(new URL(src).pathname)),
    md5: '',
    bytes: 0,
    uncompressedBytes: 0,
    bootloader: profile.bootloader.writes.length > 0 ? 'mainline' : 'none',
    kernelVersions: [],
  };
}

export interface CardIds {
  /** MBR disk identifier, 0x + 8 hex digits (PARTUUID = ID-0N). */
  diskId: string;
  /** FAT volume id, 8 hex digits (shown as XXXX-XXXX). */
  vfatId: string;
  ext4Uuid: string;
}

/**
 * Identifiers derived from the cluster and node names: stable, so the plan can show the fstab line before the
 * card is formatted, and different for every board.
 */
export function cardIds(cluster: ClusterSpec, node: NodeSpec): CardIds {
  const h = createHash('sha256').update(`boardkube:${cluster.name}:${node.name}`).digest('hex');
  const disk = h.slice(0, 8) === '00000000' ? '0000b00c' : h.slice(0, 8);
  const u = h.slice(16, 48).split('');
  u[12] = '4';
  u[16] = ((parseInt(u[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = u.join('');
  return {
    diskId: `0x${disk}`,
    vfatId: h.slice(8, 16).toUpperCase(),
    ext4Uuid: `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`,
  };
}

export interface Card {
  profile: BoardProfile;
  cluster: ClusterSpec;
  node: NodeSpec;
  device: string;
  ids: CardIds;
  /** BASE/<device name>: this card's work folder on this computer. */
  work: string;
  /** Where the root filesystem is mounted while the card is written. */
  root: string;
  bootPart: { n: number; spec: PartitionSpec; path: string };
  rootPart: { n: number; spec: PartitionSpec; path: string };
  image: ImageFacts;
  /** The public key that goes into root's authorized_keys. */
  publicKey: string;
}

export function makeCard(o: { profile: BoardProfile; cluster: ClusterSpec; node: NodeSpec; device: string; mountBase: string; image: ImageFacts; publicKey: string }): Card {
  const bootIdx = o.profile.partitions.findIndex((p) => p.mountpoint === '/boot');
  const rootIdx = o.profile.partitions.findIndex((p) => p.mountpoint === '/');
  if (bootIdx < 0 || rootIdx < 0) throw new Error(`board profile ${o.profile.id} needs a /boot and a / partition`);
  const work = join(o.mountBase, deviceName(o.device).replace(/\//g, '_'));
  return {
    ...o,
    ids: cardIds(o.cluster, o.node),
    work,
    root: join(work, 'root'),
    bootPart: { n: bootIdx + 1, spec: o.profile.partitions[bootIdx]!, path: partitionPath(o.device, bootIdx + 1) },
    rootPart: { n: rootIdx + 1, spec: o.profile.partitions[rootIdx]!, path: partitionPath(o.device, rootIdx + 1) },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Partition table

export function tableSpec(card: Card): PartitionTableSpec {
  return {
    label: 'dos',
    id: card.ids.diskId,
    partitions: card.profile.partitions.map((p) => ({ start: p.startMiB * MIB_SECTORS, size: p.sizeMiB === undefined ? undefined : p.sizeMiB * MIB_SECTORS, type: p.type })),
  };
}

export function sfdiskScript(t: PartitionTableSpec): string {
  const lines = [`label: ${t.label}`, `label-id: ${t.id}`, 'unit: sectors', ''];
  for (const p of t.partitions) lines.push(`start=${p.start}${p.size !== undefined ? `, size=${p.size}` : ''}, type=${p.type}`);
  return `${lines.join('\n')}\n`;
}

/** Bytes the layout needs before the last (growing) partition, plus room for the root filesystem's content. */
export function layoutBytes(profile: BoardProfile, contentBytes = 0): number {
  const last = profile.partitions[profile.partitions.length - 1]!;
  const fixed = (last.startMiB + (last.sizeMiB ?? 0)) * 1024 * 1024;
  return fixed + Math.ceil(contentBytes * 1.15) + 64 * 1024 * 1024;
}

// ---------------------------------------------------------------------------------------------------------
// Files written into the card

export function vfatUuid(card: Card): string {
  return `${card.ids.vfatId.slice(0, 4)}-${card.ids.vfatId.slice(4)}`;
}

export function bootScript(card: Card): string {
  const tpl = card.profile.boot.script;
  if (!tpl) throw new Error(`board profile ${card.profile.id} has no boot script template`);
  return tpl
    .replaceAll('{{board}}', card.profile.name)
    .replaceAll('{{console}}', card.profile.boot.console)
    .replaceAll('{{fdt}}', card.profile.boot.fdt)
    .replaceAll('{{bootPart}}', String(card.bootPart.n))
    .replaceAll('{{rootPart}}', String(card.rootPart.n));
}

export function hostsFile(card: Card): string {
  const others = card.cluster.nodes.filter((n) => n.name !== card.node.name);
  return [
    `# Static table lookup for host names. Written by boardkube for cluster "${card.cluster.name}".`,
    '127.0.0.1\tlocalhost',
    '::1\t\tlocalhost',
    `${card.node.address}\t${card.node.name}`,
    ...(others.length ? ['# the other boards of the cluster', ...others.map((n) => `${n.address}\t${n.name}`)] : []),
    '',
  ].join('\n');
}

export function networkFile(card: Card): string {
  const lan = parseCidr(card.cluster.network.lan);
  const prefix = lan ? lan.prefix : 24;
  return [
    '# Written by boardkube: the static address from the cluster file, so the cluster finds this board.',
    "# Arch Linux ARM's own eth.network (DHCP) sorts after this file, so this one applies.",
    '[Match]',
    'Name=eth* en*',
    '',
    '[Network]',
    `Address=${card.node.address}/${prefix}`,
    `Gateway=${card.cluster.network.gateway}`,
    ...card.cluster.network.dns.map((d) => `DNS=${d}`),
    '',
  ].join('\n');
}

export const SSHD_DROP_IN = [
  '# Written by boardkube: log in with keys only.',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'PermitRootLogin prohibit-password',
  '',
].join('\n');

export const SSHD_INCLUDE = 'Include /etc/ssh/sshd_config.d/*.conf';

export function fstabFile(card: Card): string {
  const lines = [
    '# Static information about the file systems.',
    '# Written by boardkube: by UUID, because kernel device names differ between kernels and card slots.',
    '# <file system>\t<dir>\t<type>\t<options>\t<dump>\t<pass>',
  ];
  for (const [i, p] of card.profile.partitions.entries()) {
    if (p.mountpoint === '/') continue; // the kernel mounts / from the boot script's root=PARTUUID
    const uuid = p.filesystem === 'vfat' ? vfatUuid(card) : card.ids.ext4Uuid;
    lines.push(`UUID=${uuid}\t${p.mountpoint}\t${p.filesystem}\tdefaults\t0\t${i === 0 ? 0 : 2}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// The ops of each step

const MOUNT = (card: Card): DiskOp[] => [
  { op: 'mkdir', path: card.root, mode: 0o755, describe: `create the mount folder ${card.root}` },
  { op: 'mount', device: card.device, partition: card.rootPart.path, target: card.root, argv: ['mount', card.rootPart.path, card.root], describe: `mount the root filesystem (${card.rootPart.path}) at ${card.root} (nothing happens if it already is)` },
];

export function releaseOps(card: Card): DiskOp[] {
  return [{ op: 'umount', device: card.device, target: card.root, argv: ['umount', card.root], describe: `unmount ${card.root} if an earlier run left it mounted` }];
}

export function partitionOps(card: Card): DiskOp[] {
  const table = tableSpec(card);
  return [
    ...releaseOps(card),
    {
      op: 'partition',
      device: card.device,
      table,
      argv: ['sfdisk', '--wipe', 'always', '--wipe-partitions', 'always', card.device],
      stdin: sfdiskScript(table),
      describe: `write a new MBR partition table on ${card.device}: ${card.profile.partitions.map((p) => `${p.label} ${p.filesystem} from ${p.startMiB} MiB${p.sizeMiB ? `, ${p.sizeMiB} MiB` : ' to the end'}`).join('; ')}`,
    },
    {
      op: 'reread',
      device: card.device,
      nodes: card.profile.partitions.map((_p, i) => partitionPath(card.device, i + 1)),
      timeoutMs: PARTITION_NODE_TIMEOUT_MS,
      argv: ['partx', '-u', card.device],
      describe: `ask the kernel to register the new partitions and wait for ${card.profile.partitions.map((_p, i) => partitionPath(card.device, i + 1)).join(', ')}`,
    },
  ];
}

export function formatOps(card: Card): DiskOp[] {
  return card.profile.partitions.map((p, i): DiskOp => {
    const part = partitionPath(card.device, i + 1);
    if (p.filesystem === 'vfat') {
      return { op: 'mkfs', device: card.device, partition: part, fs: 'vfat', label: p.label, uuid: vfatUuid(card), argv: ['mkfs.vfat', '-F', '32', '-n', p.label, '-i', card.ids.vfatId, part], describe: `format ${part} as FAT32 "${p.label}" (id ${vfatUuid(card)})` };
    }
    return { op: 'mkfs', device: card.device, partition: part, fs: 'ext4', label: p.label, uuid: card.ids.ext4Uuid, argv: ['mkfs.ext4', '-F', '-q', '-L', p.label, '-U', card.ids.ext4Uuid, part], describe: `format ${part} as ext4 "${p.label}" (UUID ${card.ids.ext4Uuid})` };
  });
}

export function extractOps(card: Card): DiskOp[] {
  return [
    ...MOUNT(card),
    {
      op: 'extract',
      device: card.device,
      tarball: card.image.tarball,
      target: card.root,
      totalBytes: card.image.bytes,
      // --numeric-owner: keep Arch's user and group numbers; this computer's names (Debian's, say) map to others.
      argv: ['bsdtar', '-x', '-p', '--numeric-owner', '-f', card.image.tarball, '-C', card.root],
      describe: `extract ${basename(card.image.tarball)} into the root filesystem (the boot files land in ${card.root}/boot, moved to the boot partition later)`,
    },
  ];
}

export function bootloaderWrites(card: Card): BootloaderWrite[] {
  if (card.image.bootloader === 'legacy') return card.profile.bootloader.legacy?.writes ?? [];
  if (card.image.bootloader === 'none') return [];
  return card.profile.bootloader.writes;
}

export function ddArgv(input: string, device: string, w: BootloaderWrite): string[] {
  return ['dd', `if=${input}`, `of=${device}`, 'conv=fsync,notrunc', `bs=${w.bs}`, ...(w.skip ? [`skip=${w.skip}`] : []), ...(w.seek ? [`seek=${w.seek}`] : []), ...(w.count !== undefined ? [`count=${w.count}`] : [])];
}

/** Where the bootloader file is read from: the extracted tree, or (after the boot files moved) a copy from FAT. */
export function bootloaderInput(card: Card, w: BootloaderWrite, fromFat: boolean): string {
  return fromFat ? join(card.work, basename(w.file)) : join(card.root, w.file);
}

/** A /boot file of the tarball as named inside the boot partition (which the board mounts at /boot). */
export function pathOnBootPartition(file: string): string {
  return file.replace(/^\/boot/, '');
}

export function bootloaderOps(card: Card, fromFat = false): DiskOp[] {
  const writes = bootloaderWrites(card);
  const ops: DiskOp[] = [...MOUNT(card)];
  if (fromFat) {
    for (const file of [...new Set(writes.map((w) => w.file))]) {
      const rel = pathOnBootPartition(file);
      const dest = join(card.work, basename(file));
      ops.push({ op: 'fat-copy-out', device: card.device, partition: card.bootPart.path, file: rel, dest, argv: ['mcopy', '-n', '-o', '-i', card.bootPart.path, `::${rel}`, dest], describe: `copy ${rel} from the boot partition to ${dest}` });
    }
  }
  for (const w of writes) {
    const input = bootloaderInput(card, w, fromFat);
    ops.push({ op: 'dd', device: card.device, input, bs: w.bs, skip: w.skip, seek: w.seek, count: w.count, argv: ddArgv(input, card.device, w), describe: `write ${basename(w.file)} onto the raw card (${w.count !== undefined ? `${w.count * w.bs} bytes at byte ${w.seek * w.bs}` : `from byte ${w.skip * w.bs} of the file to byte ${w.seek * w.bs} of the card`})` });
  }
  return ops;
}

export function mkimageArgv(card: Card): string[] {
  return ['mkimage', '-A', 'arm', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'boardkube boot script', '-d', join(card.root, 'boot', 'boot.txt'), join(card.root, 'boot', 'boot.scr')];
}

export function bootConfigOps(card: Card): DiskOp[] {
  const stage = join(card.root, 'boot');
  return [
    ...MOUNT(card),
    { op: 'write-file', device: card.device, path: join(stage, 'boot.txt'), content: bootScript(card), mode: 0o644, describe: `boot script source for the mainline kernel (console ${card.profile.boot.console}, root by PARTUUID)` },
    { op: 'mkimage', device: card.device, input: join(stage, 'boot.txt'), output: join(stage, 'boot.scr'), argv: mkimageArgv(card), describe: 'compile boot.txt into boot.scr, the script U-Boot runs' },
    {
      op: 'fat-copy-in',
      device: card.device,
      partition: card.bootPart.path,
      sourceDir: stage,
      argv: ['sh', '-c', `MTOOLS_SKIP_CHECK=1 mcopy -s -p -m -Q -D o -i ${card.bootPart.path} ${stage}/* ::/`],
      describe: `copy the boot files onto the boot partition ${card.bootPart.path} with mtools (no mount needed)`,
    },
    { op: 'clear-dir', device: card.device, path: stage, argv: ['find', stage, '-mindepth', '1', '-delete'], describe: `empty ${stage} on the root filesystem: the boot partition is mounted over it on the board (ALARM's "mv root/boot/* boot")` },
  ];
}

export interface PreconfigureOptions {
  /** The tarball's sshd_config lacks "Include /etc/ssh/sshd_config.d/*.conf": add it (undefined: not known yet). */
  sshdConfig?: { hasInclude: boolean; content: string };
}

export function preconfigureOps(card: Card, o: PreconfigureOptions = {}): DiskOp[] {
  const r = (p: string) => join(card.root, p);
  const dev = card.device;
  const ops: DiskOp[] = [
    ...MOUNT(card),
    { op: 'write-file', device: dev, path: r('etc/hostname'), content: `${card.node.name}\n`, mode: 0o644, describe: `host name ${card.node.name}` },
    { op: 'write-file', device: dev, path: r('etc/hosts'), content: hostsFile(card), mode: 0o644, describe: 'host names of this board and the others of the cluster' },
    { op: 'write-file', device: dev, path: r('etc/systemd/network/10-boardkube.network'), content: networkFile(card), mode: 0o644, describe: `static address ${card.node.address} with gateway and DNS (systemd-networkd)` },
    { op: 'mkdir', device: dev, path: r('root/.ssh'), mode: 0o700, describe: "root's SSH folder (0700)" },
    { op: 'write-file', device: dev, path: r('root/.ssh/authorized_keys'), content: card.publicKey.endsWith('\n') ? card.publicKey : `${card.publicKey}\n`, mode: 0o600, describe: `root's authorized_keys: the key from ${card.cluster.ssh.keyPath}.pub (0600)` },
    { op: 'write-file', device: dev, path: r('etc/ssh/sshd_config.d/10-boardkube.conf'), content: SSHD_DROP_IN, mode: 0o644, describe: 'sshd: password login off, keys only' },
  ];
  if (o.sshdConfig && !o.sshdConfig.hasInclude) {
    ops.push({ op: 'write-file', device: dev, path: r('etc/ssh/sshd_config'), content: `${SSHD_INCLUDE}\n${o.sshdConfig.content}`, mode: 0o644, describe: `sshd_config: add "${SSHD_INCLUDE}" at the top, so the drop-in applies` });
  }
  ops.push(
    { op: 'write-file', device: dev, path: r('etc/machine-id'), content: '', mode: 0o444, describe: 'empty /etc/machine-id: the board makes its own on first boot (no two boards share one)' },
    { op: 'remove', device: dev, path: r('var/lib/dbus/machine-id'), describe: "remove D-Bus's copy of the machine id" },
    { op: 'symlink', device: dev, path: r('etc/localtime'), target: `../usr/share/zoneinfo/${card.cluster.timezone}`, describe: `time zone ${card.cluster.timezone}` },
    { op: 'mkdir', device: dev, path: r('var/lib/systemd/timesync'), mode: 0o755, describe: "systemd-timesyncd's state folder" },
    { op: 'write-file', device: dev, path: r('var/lib/systemd/timesync/clock'), content: '', mode: 0o644, touchNow: true, describe: 'clock seed: its time stamp (now) is where the clock starts on a board without a battery-backed clock' },
    { op: 'write-file', device: dev, path: r('etc/fstab'), content: fstabFile(card), mode: 0o644, describe: 'fstab: the boot partition by UUID' },
  );
  return ops;
}

export function finishOps(card: Card, o: { eject: boolean }): DiskOp[] {
  return [
    { op: 'sync', device: card.device, argv: ['sync'], describe: 'flush every write to the card' },
    { op: 'umount', device: card.device, target: card.root, argv: ['umount', card.root], describe: `unmount ${card.root}` },
    ...(o.eject ? [{ op: 'eject', device: card.device, argv: ['eject', card.device], describe: `eject ${card.device}: safe to pull out` } as DiskOp] : []),
  ];
}
