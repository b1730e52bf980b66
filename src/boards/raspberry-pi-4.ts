import { MAINLINE_BOOT_TXT } from './odroid-n2.ts';
import type { BoardProfile } from './types.ts';

// Raspberry Pi 4 on the aarch64 image: the firmware on the FAT partition boots U-Boot or the kernel itself,
// so there is no raw bootloader write. The mainline kernel names the SD card mmcblk1, the tarball says mmcblk0
// (ALARM's install steps: `sed -i 's/mmcblk0/mmcblk1/g' root/etc/fstab`); the flasher writes fstab by UUID anyway.
// The console is the mini UART ttyS1 under the mainline kernel (archlinuxarm.org forum, 2023, a CM4 boot.txt with
// console=ttyS1,115200). Layout: p1 FAT from the default first sector (1 MiB), 200 MiB.
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
  boot: { kind: 'boot.scr', console: 'ttyS1,115200n8', fdt: 'broadcom/bcm2711-rpi-4-b.dtb', script: MAINLINE_BOOT_TXT },
  tarballMustHave: [['boot/Image', 'boot/kernel8.img'], ['boot/dtbs/', 'boot/bcm2711-rpi-4-b.dtb']],
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
