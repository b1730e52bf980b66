import type { BoardProfile } from './types.ts';

// Raspberry Pi 4 on the aarch64 image: the firmware on the FAT partition boots U-Boot or the kernel itself,
// so there is no raw bootloader write. The mainline kernel names the SD card mmcblk1, the tarball says mmcblk0.
export const raspberryPi4: BoardProfile = {
  id: 'raspberry-pi-4',
  name: 'Raspberry Pi 4',
  arch: 'aarch64',
  tarball: {
    url: 'http://os.archlinuxarm.org/os/ArchLinuxARM-rpi-aarch64-latest.tar.gz',
    md5Url: 'http://os.archlinuxarm.org/os/ArchLinuxARM-rpi-aarch64-latest.tar.gz.md5',
    sigUrl: 'http://os.archlinuxarm.org/os/ArchLinuxARM-rpi-aarch64-latest.tar.gz.sig',
  },
  partitions: [
    { label: 'BOOT', startMiB: 1, sizeMiB: 200, type: 'c', filesystem: 'vfat', mountpoint: '/boot' },
    { label: 'ROOT', startMiB: 201, type: '83', filesystem: 'ext4', mountpoint: '/' },
  ],
  minCardMiB: 2048,
  bootloader: { package: 'raspberrypi-bootloader', writes: [] },
  boot: { kind: 'boot.scr', console: 'ttyS1,115200n8', fdt: 'broadcom/bcm2711-rpi-4-b.dtb' },
  kernelPackage: 'linux-aarch64',
  replacesKernels: [],
  rootDevice: '/dev/mmcblk1p2',
  fstabFixes: [{ from: 'mmcblk0', to: 'mmcblk1' }],
  hasRtc: false,
  memoryMiB: 2048,
  firstBootHints: [
    'Insert the card, connect Ethernet, then power on. The green LED flickers while the card is read.',
  ],
};
