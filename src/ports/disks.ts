// The Disks port: SD cards and eMMC modules in this computer's card readers (real: lsblk, sfdisk, mkfs,
// bsdtar, dd; lab: simulated cards). The flash stage extends this contract.

export interface BlockDevice {
  /** e.g. /dev/sdb, /dev/mmcblk0, /dev/loop3 */
  path: string;
  sizeBytes: number;
  model: string;
  /** usb, mmc, sata, nvme, loop, virtio, ... as lsblk reports it ("" when unknown) */
  transport: string;
  removable: boolean;
  /** Mount points of the device and its partitions. */
  mountpoints: string[];
  /** Holds /, /boot or swap of this computer. */
  system: boolean;
}

export interface Disks {
  list(signal?: AbortSignal): Promise<BlockDevice[]>;
}
