// A board profile: everything boardkube knows about one kind of single-board computer, as data.
// Adding a board = adding one file next to this one and listing it in index.ts.

export interface PartitionSpec {
  /** Label used for the filesystem. */
  label: string;
  /** Offset from the start of the disk, in MiB. */
  startMiB: number;
  /** Size in MiB; undefined = rest of the disk. */
  sizeMiB?: number;
  /** sfdisk type: "c" (W95 FAT32 LBA) or "83" (Linux). */
  type: 'c' | '83';
  filesystem: 'vfat' | 'ext4';
  /** Where it is mounted on the running board. */
  mountpoint: '/boot' | '/';
}

/** One `dd` write of a bootloader file onto the raw card. */
export interface BootloaderWrite {
  /** File inside the root filesystem, e.g. /boot/u-boot.bin.sd.bin */
  file: string;
  /** dd's bs, skip, seek and count (in bs units; count undefined = whole file). */
  bs: number;
  skip: number;
  seek: number;
  count?: number;
}

export interface BoardProfile {
  id: string;
  name: string;
  arch: 'aarch64';
  /** Arch Linux ARM root filesystem tarball. */
  tarball: { url: string; md5Url: string; sigUrl?: string };
  partitions: PartitionSpec[];
  /** Smallest card the layout fits on, in MiB. */
  minCardMiB: number;
  bootloader: {
    /** Package that ships the bootloader. */
    package: string;
    writes: BootloaderWrite[];
    /** Older tarballs that still carry the 2019 bootloader files: detected and handled. */
    legacy?: { file: string; writes: BootloaderWrite[]; note: string };
  };
  boot: {
    kind: 'boot.scr' | 'extlinux';
    /** Serial console for the kernel command line. */
    console: string;
    /** Device tree file of the mainline kernel. */
    fdt: string;
    /**
     * boot.txt template (U-Boot script) for the mainline kernel, compiled to boot.scr with
     * `mkimage -A arm -O linux -T script -C none`. Placeholders: {{board}} {{console}} {{fdt}} {{bootPart}} {{rootPart}}.
     */
    script?: string;
    /** Files the tarball's own (older) bootloader reads instead, kept as they are (e.g. the vendor U-Boot's boot.ini). */
    legacyConfig?: string[];
  };
  /**
   * What a tarball for this board must contain (paths inside it, no leading slash; a trailing / means "a folder
   * with something in it"). Each inner list is "one of these". Checked before anything is written.
   */
  tarballMustHave?: string[][];
  /** Kernel package that must end up installed on the board for current Kubernetes. */
  kernelPackage: string;
  /** Kernel packages that must be replaced (e.g. a vendor kernel too old for kubeadm). */
  replacesKernels: string[];
  /** Root device as the running kernel names it (e.g. /dev/mmcblk1p2). */
  rootDevice: string;
  /** sed expressions to apply to /etc/fstab in the root filesystem, if the tarball's names are wrong. */
  fstabFixes: Array<{ from: string; to: string }>;
  /** No battery-backed real-time clock: the card gets a clock seed. */
  hasRtc: boolean;
  /** Memory in MiB of the smallest variant. */
  memoryMiB: number;
  /** What to tell a person about the first boot. */
  firstBootHints: string[];
}
