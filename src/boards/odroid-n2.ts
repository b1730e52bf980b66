import type { BoardProfile } from './types.ts';

// ODROID-N2 (Amlogic S922X). Facts and where they come from (checked 2026):
// - Layout: MBR, p1 FAT 2 MiB..258 MiB, p2 ext4 to the end. The archlinuxarm.org page was not reachable from here;
//   the EndeavourOS ARM installer, which follows it, partitions the N2 exactly so
//   (`mkpart primary fat32 2MiB 258MiB`, `mkpart primary 258MiB ...`) and then `mv root/boot/* boot`.
// - Mainline U-Boot: package uboot-odroid-n2 ships /boot/u-boot.bin.sd.bin, written with the two dd commands below
//   (archlinuxarm/PKGBUILDs alarm/uboot-odroid-n2/uboot-odroid-n2.install, verbatim: bs=512 skip=1 seek=1, then
//   bs=1 count=440 so the partition table at byte 446 stays). Mainline u-boot.bin.sd.bin is bigger than the
//   vendor one: the flasher checks that it ends before p1 starts.
// - Older tarballs: vendor U-Boot 2015.01 (/boot/u-boot.bin, `dd ... bs=512 seek=1`) reading /boot/boot.ini, which
//   loads Image.gz, uInitrd and amlogic/meson64_odroid${variant}.dtb with root=/dev/mmcblk${devno}p2
//   (archlinuxarm/PKGBUILDs alarm/uboot-odroid-n2/{PKGBUILD,boot.ini}).
// - linux-odroid-n2 is the vendor 4.9 kernel (4.9.168, hardkernel odroidn2-4.9.y; core/linux-odroid-n2/PKGBUILD);
//   it installs /boot/Image and /boot/dtbs/. Current Kubernetes needs linux-aarch64 (5.4+/6.x, cgroup v2).
//   Mainline U-Boot cannot hand over to the vendor kernel (a 2025 N2+ mainline guide: "once you install mainline
//   u-boot ... you cannot boot the stock hardkernel kernel"): the boot script below is for linux-aarch64.
// - Mainline U-Boot reads the board revision and sets ${fdtfile} to the N2 or N2+ device tree itself
//   (u-boot doc/board/amlogic/odroid-n2.rst); the script keeps it and only falls back to the profile's fdt.
// - Boot script shape: ALARM's uboot-odroid-c2-mainline/boot.txt and uboot-raspberrypi/boot.txt.v3 (root by
//   PARTUUID through `part uuid`, booti with or without initramfs). Here /boot is its own FAT partition, so the
//   files sit at the root of partition 1 (as in boot.txt.v3), not under /boot as in the C2's single-partition one.

/** U-Boot script for a mainline kernel on a card with a FAT /boot partition (shared by boards that boot so). */
export const MAINLINE_BOOT_TXT = `# boot.txt for {{board}}: mainline U-Boot and the mainline kernel (linux-aarch64).
# Written by boardkube. After a change, compile it again:
#   mkimage -A arm -O linux -T script -C none -n "boot script" -d boot.txt boot.scr
test -n "\${distro_bootpart}" || setenv distro_bootpart {{bootPart}}
part uuid \${devtype} \${devnum}:{{rootPart}} uuid
test -n "\${fdtfile}" || setenv fdtfile {{fdt}}
setenv bootargs "console={{console}} root=PARTUUID=\${uuid} rw rootwait"

if load \${devtype} \${devnum}:\${distro_bootpart} \${kernel_addr_r} /Image; then
  if load \${devtype} \${devnum}:\${distro_bootpart} \${fdt_addr_r} /dtbs/\${fdtfile}; then
    if load \${devtype} \${devnum}:\${distro_bootpart} \${ramdisk_addr_r} /initramfs-linux.img; then
      booti \${kernel_addr_r} \${ramdisk_addr_r}:\${filesize} \${fdt_addr_r};
    else
      booti \${kernel_addr_r} - \${fdt_addr_r};
    fi;
  fi;
fi
`;

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
      note: 'This tarball still carries the vendor U-Boot (u-boot.bin and boot.ini from before 2025-11). It is written the 2019 way and boots the vendor kernel with boot.ini; boot.scr for the mainline kernel is written too, for when the configure stage installs mainline uboot-odroid-n2 and linux-aarch64.',
    },
  },
  boot: {
    kind: 'boot.scr',
    console: 'ttyAML0,115200n8',
    fdt: 'amlogic/meson-g12b-odroid-n2.dtb',
    script: MAINLINE_BOOT_TXT,
    legacyConfig: ['/boot/boot.ini'],
  },
  tarballMustHave: [
    ['boot/u-boot.bin.sd.bin', 'boot/u-boot.bin'],
    ['boot/Image', 'boot/Image.gz'],
    ['boot/dtbs/'],
  ],
  kernelPackage: 'linux-aarch64',
  replacesKernels: ['linux-odroid-n2'],
  rootDevice: '/dev/mmcblk1p2',
  // The flasher writes /etc/fstab by filesystem UUID (kernel device names differ between the vendor and the
  // mainline kernel, and between SD card and eMMC), so no name fix is needed.
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
