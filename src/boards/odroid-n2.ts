import type { BoardProfile } from './types.ts';

// ODROID-N2 (Amlogic S922X). Arch Linux ARM moved it to mainline U-Boot on 2025-11-03
// (package uboot-odroid-n2 2025.10 ships /boot/u-boot.bin.sd.bin); the vendor 4.9 kernel cannot run
// current Kubernetes (kubeadm's kernel check, cgroup v2), so the board gets linux-aarch64.
export const odroidN2: BoardProfile = {
  id: 'odroid-n2',
  name: 'ODROID-N2',
  arch: 'aarch64',
  tarball: {
    url: 'http://os.archlinuxarm.org/os/ArchLinuxARM-odroid-n2-latest.tar.gz',
    md5Url: 'http://os.archlinuxarm.org/os/ArchLinuxARM-odroid-n2-latest.tar.gz.md5',
    sigUrl: 'http://os.archlinuxarm.org/os/ArchLinuxARM-odroid-n2-latest.tar.gz.sig',
  },
  partitions: [
    { label: 'BOOT', startMiB: 2, sizeMiB: 256, type: 'c', filesystem: 'vfat', mountpoint: '/boot' },
    { label: 'ROOT', startMiB: 258, type: '83', filesystem: 'ext4', mountpoint: '/' },
  ],
  minCardMiB: 2048,
  bootloader: {
    package: 'uboot-odroid-n2',
    writes: [
      { file: '/boot/u-boot.bin.sd.bin', bs: 512, skip: 1, seek: 1 },
      { file: '/boot/u-boot.bin.sd.bin', bs: 1, skip: 0, seek: 0, count: 440 },
    ],
    legacy: {
      file: '/boot/u-boot.bin',
      writes: [{ file: '/boot/u-boot.bin', bs: 512, skip: 0, seek: 1 }],
      note: 'This tarball still carries the vendor U-Boot (u-boot.bin and boot.ini from before 2025-11). It is written the 2019 way; the configure stage then installs mainline uboot-odroid-n2.',
    },
  },
  boot: { kind: 'boot.scr', console: 'ttyAML0,115200n8', fdt: 'amlogic/meson-g12b-odroid-n2.dtb' },
  kernelPackage: 'linux-aarch64',
  replacesKernels: ['linux-odroid-n2'],
  rootDevice: '/dev/mmcblk1p2',
  fstabFixes: [],
  hasRtc: false,
  memoryMiB: 2048,
  firstBootHints: [
    'Set the boot-select switch next to the SD slot to "MMC". On "SPI" the board boots Petitboot from its SPI flash and ignores the card.',
    'Insert the card (or eMMC module), connect Ethernet, then power on. The blue LED blinks once the kernel runs.',
    'A serial console (115200 baud, UART header) shows the boot if nothing answers on the network.',
  ],
};

// The N2+ (S922X rev. C) boots the same image; only the device tree and memory differ.
export const odroidN2Plus: BoardProfile = {
  ...odroidN2,
  id: 'odroid-n2plus',
  name: 'ODROID-N2+',
  boot: { ...odroidN2.boot, fdt: 'amlogic/meson-g12b-odroid-n2-plus.dtb' },
  memoryMiB: 2048,
};
