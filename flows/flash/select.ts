// Which block devices may become a card: pure rules over the Disks port's facts, shared by the wizard's device
// list (eligible + excluded with the reason) and the CLI's --device check.
import type { BoardProfile } from '../../src/boards/types.ts';
import { InputError } from '../../src/engine/types.ts';
import { isInside, type BlockDevice } from '../../src/ports/disks.ts';

export type ExclusionCode = 'system' | 'mounted' | 'read-only' | 'too-small' | 'not-removable' | 'no-medium' | 'not-a-card';

export interface Excluded {
  device: BlockDevice;
  code: ExclusionCode;
  reason: string;
}

export interface EligibilityOptions {
  /** Also offer fixed disks (SATA, NVMe, virtio): the user asked for them explicitly. */
  allDevices?: boolean;
  /** Mounts under this folder are the flasher's own (a run that stopped half-way), not a reason to refuse. */
  ownMountBase?: string;
}

/** Transports that are cards or card readers; loop devices are file-backed images (writing them is harmless). */
const CARD_TRANSPORTS = ['usb', 'mmc', 'loop'];

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
  return `${n} bytes`;
}

/** The one reason a device is not offered, or null when it may be flashed. */
export function exclusion(d: BlockDevice, profile: BoardProfile, opts: EligibilityOptions = {}): Excluded | null {
  const ex = (code: ExclusionCode, reason: string): Excluded => ({ device: d, code, reason });
  if (d.system) return ex('system', `this computer's system disk (${d.systemReason || 'holds / or swap'})`);
  const foreign = d.mountpoints.filter((m) => !(opts.ownMountBase && isInside(m, opts.ownMountBase)));
  if (foreign.length > 0) return ex('mounted', `mounted at ${foreign.join(', ')}: unmount it first if it really is the card`);
  if (d.type === 'rom') return ex('not-a-card', 'an optical drive');
  if (d.transport === 'zram' || d.name?.startsWith('zram')) return ex('not-a-card', 'compressed RAM (zram), not a card');
  if (d.sizeBytes === 0) return ex('no-medium', 'no medium: an empty card reader, or a loop device without a file');
  if (d.readOnly) return ex('read-only', 'read-only: slide the lock switch on the card or adapter to "unlocked"');
  const need = profile.minCardMiB * 1024 * 1024;
  if (d.sizeBytes < need) return ex('too-small', `too small: ${formatBytes(d.sizeBytes)}, the ${profile.name} layout needs at least ${formatBytes(need)}`);
  if (!opts.allDevices && !d.removable && !CARD_TRANSPORTS.includes(d.transport)) {
    return ex('not-removable', `a fixed ${d.transport || 'internal'} disk, not a removable, USB or MMC device (offered only with --all-devices)`);
  }
  return null;
}

/** Splits the devices into those that may be flashed and those left out, each with its reason. */
export function eligibleDevices(devices: BlockDevice[], profile: BoardProfile, opts: EligibilityOptions = {}): { eligible: BlockDevice[]; excluded: Excluded[] } {
  const eligible: BlockDevice[] = [];
  const excluded: Excluded[] = [];
  for (const d of devices) {
    const e = exclusion(d, profile, opts);
    if (e) excluded.push(e);
    else eligible.push(d);
  }
  return { eligible, excluded };
}

export function describeDevice(d: BlockDevice): string {
  return `${d.path} (${[d.model || 'unknown model', formatBytes(d.sizeBytes), d.transport || 'unknown transport'].join(', ')})`;
}

/** The device the user named, or an InputError saying why not (nothing is touched either way). */
export function chooseDevice(path: string, devices: BlockDevice[], profile: BoardProfile, opts: EligibilityOptions = {}): BlockDevice {
  const d = devices.find((x) => x.path === path || x.name === path.replace(/^\/dev\//, ''));
  if (!d) {
    const parent = devices.find((x) => x.partitions?.some((p) => p.path === path));
    if (parent) throw new InputError('--device', `${path} is a partition of ${parent.path}`, `name the whole card: --device ${parent.path}`);
    const { eligible } = eligibleDevices(devices, profile, opts);
    throw new InputError('--device', `${path} is not a block device of this computer`, eligible.length ? `cards found: ${eligible.map(describeDevice).join('; ')}` : 'insert the card (reader) and check `lsblk`');
  }
  const e = exclusion(d, profile, opts);
  if (e) {
    const fix =
      e.code === 'system' ? 'never flash this computer\'s own disk: choose the card reader\'s device (see `lsblk`)'
      : e.code === 'not-removable' ? 'if this fixed disk really is the target, add --all-devices'
      : e.code === 'mounted' ? `umount ${e.device.mountpoints.join(' ')}`
      : e.code === 'too-small' ? 'use a bigger card'
      : 'choose another device';
    throw new InputError('--device', `refusing ${describeDevice(d)}: ${e.reason}`, fix);
  }
  return d;
}
