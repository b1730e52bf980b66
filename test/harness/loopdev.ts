// Real block devices for flashing tests: a sparse file behind a loop device (`losetup -f --show -P`), always
// detached again. Also the devices-cgroup guard that keeps a process from opening this machine's own disk.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LoopDevice {
  device: string;
  file: string;
  detach(): void;
}

const attached = new Set<string>();

export function attachLoop(dir: string, sizeBytes: number, name = 'card.img'): LoopDevice {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  execFileSync('truncate', ['-s', String(sizeBytes), file]);
  const device = execFileSync('losetup', ['-f', '--show', '-P', file], { encoding: 'utf8' }).trim();
  attached.add(device);
  return {
    device,
    file,
    detach() {
      detachLoop(device);
    },
  };
}

export function detachLoop(device: string): void {
  // unmount anything left on its partitions first (a failed test may leave a mount behind)
  const mounts = spawnSync('findmnt', ['-rn', '-o', 'TARGET,SOURCE'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of mounts.split('\n')) {
    const [target, source] = line.split(' ');
    if (source && target && (source === device || source.startsWith(`${device}p`))) spawnSync('umount', ['-l', target]);
  }
  spawnSync('losetup', ['-d', device]);
  attached.delete(device);
}

export function detachAll(): void {
  for (const d of [...attached]) detachLoop(d);
}

/** Mounts a partition read-only (ext4 here; this kernel has no vfat: FAT is read with mtools). */
export function mountReadOnly(partition: string, dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-o', 'ro', partition, dir]);
  return () => {
    spawnSync('umount', [dir]);
  };
}

/** A file from a FAT partition, read with mtools (no mount). */
export function fatRead(partition: string, path: string): Buffer | null {
  const r = spawnSync('mcopy', ['-n', '-i', partition, `::${path}`, '-'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  return r.status === 0 ? r.stdout : null;
}

export function fatList(partition: string): string[] {
  const r = spawnSync('mdir', ['-/', '-b', '-i', partition, '::/'], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  return (r.stdout ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('::/')).map((l) => l.slice(2));
}

export function readBytes(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------
// The devices-cgroup guard (cgroup v1 devices controller)

export interface DiskGuard {
  /** cgroup.procs of the guard: a process writes its pid here to enter it. */
  procs: string;
  /** Block device major numbers denied inside the guard. */
  majors: number[];
  /** Runs argv inside the guard (sh writes its own pid to cgroup.procs, then execs). */
  argv(cmd: string[]): string[];
  remove(): void;
}

/** The major number of the disk holding / (e.g. 254 for /dev/vda). */
export function rootDiskMajor(): number {
  const source = execFileSync('findmnt', ['-no', 'SOURCE', '/'], { encoding: 'utf8' }).trim();
  const majMin = execFileSync('lsblk', ['-dno', 'MAJ:MIN', source], { encoding: 'utf8' }).trim();
  return Number(majMin.split(':')[0]);
}

export function devicesCgroupAvailable(): boolean {
  return existsSync('/sys/fs/cgroup/devices/devices.deny');
}

export function makeDiskGuard(name: string, majors: number[]): DiskGuard {
  const dir = `/sys/fs/cgroup/devices/${name}`;
  mkdirSync(dir, { recursive: true });
  for (const m of majors) writeFileSync(join(dir, 'devices.deny'), `b ${m}:* rwm`);
  const procs = join(dir, 'cgroup.procs');
  return {
    procs,
    majors,
    argv: (cmd) => ['sh', '-c', `echo $$ > ${procs} && exec "$@"`, 'guarded', ...cmd],
    remove() {
      try {
        rmdirSync(dir);
      } catch {
        /* still has processes; the kernel removes nothing until they exit */
      }
    },
  };
}
