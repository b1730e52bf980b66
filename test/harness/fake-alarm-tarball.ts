// A synthetic tarball shaped like ArchLinuxARM-odroid-n2-latest.tar.gz (an AArch64 root filesystem with the
// N2's boot files), its .md5 as Arch Linux ARM publishes it, and a local HTTP server for it that supports Range
// requests and can cut the connection half-way. Written with a small tar writer of our own, so every entry's
// owner (number and name), mode and type is exactly what a test expects.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { createGzip } from 'node:zlib';

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  content?: Buffer | string;
  target?: string;
}

function field(buf: Buffer, off: number, len: number, value: string): void {
  buf.write(value.slice(0, len), off, len, 'utf8');
}

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

export function tarHeader(e: TarEntry, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  let name = e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  field(h, 0, 100, name);
  field(h, 100, 8, octal(e.mode & 0o7777, 8));
  field(h, 108, 8, octal(e.uid ?? 0, 8));
  field(h, 116, 8, octal(e.gid ?? 0, 8));
  field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(mtime, 12));
  h.write('        ', 148, 8, 'latin1');
  h.write(e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0', 156, 1, 'latin1');
  if (e.target) field(h, 157, 100, e.target);
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  field(h, 265, 32, e.uname ?? (e.uid ? '' : 'root'));
  field(h, 297, 32, e.gname ?? (e.gid ? '' : 'root'));
  if (prefix) field(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** Writes a .tar.gz of the entries (in order); returns its md5. */
export async function writeTarGz(file: string, entries: Iterable<TarEntry>, level = 6): Promise<string> {
  const md5 = createHash('md5');
  const gz = createGzip({ level });
  const out = createWriteStream(file);
  gz.on('data', (b: Buffer) => md5.update(b));
  gz.pipe(out);
  const mtime = Math.floor(Date.UTC(2026, 0, 15) / 1000);
  const write = (b: Buffer) => (gz.write(b) ? Promise.resolve() : new Promise<void>((r) => gz.once('drain', () => r())));
  for (const e of entries) {
    const content = e.type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    await write(tarHeader({ ...e, path: e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path }, content.length, mtime));
    if (content.length) {
      await write(content);
      const pad = (512 - (content.length % 512)) % 512;
      if (pad) await write(Buffer.alloc(pad));
    }
  }
  await write(Buffer.alloc(1024));
  await new Promise<void>((resolve, reject) => {
    out.on('finish', () => resolve());
    out.on('error', reject);
    gz.end();
  });
  return md5.digest('hex');
}

/** A 64-byte ELF header for an executable of the given machine (183 AArch64, 62 x86-64). */
export function elfHeader(machine: number): Buffer {
  const h = Buffer.alloc(4096);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; // 64-bit
  h[5] = 1; // little endian
  h[6] = 1;
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(machine, 18);
  h.writeUInt32LE(1, 20);
  return h;
}

export interface FakeAlarmOptions {
  dir: string;
  /** mainline: u-boot.bin.sd.bin (2025-11 and later); legacy: u-boot.bin + boot.ini (before). */
  variant?: 'mainline' | 'legacy';
  /** Size of the bootloader file (default 400 KiB). */
  ubootBytes?: number;
  /** Programs built for this ELF machine (183 = AArch64). */
  machine?: number;
  /** Leave out the bootloader and the kernel (a tarball that is not the N2's). */
  notN2?: boolean;
  /** sshd_config with "Include /etc/ssh/sshd_config.d/*.conf" (default true). */
  sshdInclude?: boolean;
  /** Extra content under /usr/share/bulk for size (bytes, about half of it compressible). */
  bulkBytes?: number;
  /** Number of files the bulk is split into. */
  bulkFiles?: number;
  name?: string;
}

export interface FakeAlarm {
  tarball: string;
  md5File: string;
  md5: string;
  /** The bootloader file as it is inside the tarball (also written beside it, for reference dd runs). */
  bootloader: Buffer;
  bootloaderFile: string;
  bytes: number;
  uncompressedBytes: number;
  variant: 'mainline' | 'legacy';
}

export const FAKE_MACHINE_ID = '0123456789abcdef0123456789abcdef\n';

function* alarmEntries(o: FakeAlarmOptions, uboot: Buffer): Generator<TarEntry> {
  const variant = o.variant ?? 'mainline';
  const d = (path: string, mode = 0o755, extra: Partial<TarEntry> = {}): TarEntry => ({ path: `./${path}`, type: 'dir', mode, ...extra });
  const f = (path: string, content: Buffer | string, mode = 0o644, extra: Partial<TarEntry> = {}): TarEntry => ({ path: `./${path}`, type: 'file', mode, content, ...extra });
  const l = (path: string, target: string): TarEntry => ({ path: `./${path}`, type: 'symlink', mode: 0o777, target });
  yield d('.');
  yield d('boot');
  if (!o.notN2) {
    yield f('boot/Image', randomBytes(96 * 1024));
    yield f('boot/initramfs-linux.img', randomBytes(32 * 1024));
    yield d('boot/dtbs');
    yield d('boot/dtbs/amlogic');
    if (variant === 'mainline') {
      yield f('boot/dtbs/amlogic/meson-g12b-odroid-n2.dtb', randomBytes(40 * 1024));
      yield f('boot/dtbs/amlogic/meson-g12b-odroid-n2-plus.dtb', randomBytes(40 * 1024));
      yield f('boot/u-boot.bin.sd.bin', uboot);
    } else {
      yield f('boot/dtbs/amlogic/meson64_odroidn2.dtb', randomBytes(40 * 1024));
      yield f('boot/u-boot.bin', uboot);
      yield f('boot/boot.ini', 'ODROIDN2-UBOOT-CONFIG\n\nsetenv bootargs "root=/dev/mmcblk${devno}p2 rootwait rw"\nload mmc ${devno}:1 ${k_addr} Image.gz\n');
    }
  } else {
    yield f('boot/vmlinuz-linux', randomBytes(64 * 1024));
  }
  yield l('bin', 'usr/bin');
  yield d('etc');
  yield f('etc/fstab', '# Static information about the file systems.\n# See fstab(5) for details.\n\n# <file system> <dir> <type> <options> <dump> <pass>\n/dev/mmcblk1p1  /boot   vfat    defaults        0       0\n');
  yield f('etc/hostname', 'alarm\n');
  yield f('etc/hosts', '# Static table lookup for hostnames.\n# See hosts(5) for details.\n');
  yield f('etc/machine-id', FAKE_MACHINE_ID, 0o444);
  yield l('etc/localtime', '../usr/share/zoneinfo/UTC');
  yield f('etc/os-release', 'NAME="Arch Linux ARM"\nID=archarm\nID_LIKE=arch\n');
  yield d('etc/ssh');
  yield d('etc/ssh/sshd_config.d');
  yield f('etc/ssh/sshd_config', `${o.sshdInclude === false ? '' : 'Include /etc/ssh/sshd_config.d/*.conf\n'}#Port 22\n#PermitRootLogin prohibit-password\nAuthorizedKeysFile .ssh/authorized_keys\nSubsystem sftp /usr/lib/ssh/sftp-server\n`);
  yield d('etc/systemd');
  yield d('etc/systemd/network');
  yield f('etc/systemd/network/eth.network', '[Match]\nName=eth*\n\n[Network]\nDHCP=yes\nDNSSEC=no\n');
  yield d('home');
  yield d('home/alarm', 0o700, { uid: 1000, gid: 1000, uname: 'alarm', gname: 'alarm' });
  yield f('home/alarm/.bashrc', '[[ $- != *i* ]] && return\n', 0o644, { uid: 1000, gid: 1000, uname: 'alarm', gname: 'alarm' });
  yield d('root', 0o750);
  yield d('usr');
  yield d('usr/bin');
  yield f('usr/bin/bash', elfHeader(o.machine ?? 183), 0o755);
  yield f('usr/bin/sudo', elfHeader(o.machine ?? 183), 0o4755);
  yield f('usr/bin/sh-wrapper', '#!/bin/sh\nexec bash "$@"\n', 0o755);
  yield d('usr/lib');
  yield d('usr/lib/modules');
  const kernel = variant === 'mainline' ? '6.17.9-1-aarch64-ARCH' : '4.9.337-1-ARCH';
  yield d(`usr/lib/modules/${kernel}`);
  yield f(`usr/lib/modules/${kernel}/modules.dep`, 'kernel/fs/ext4/ext4.ko:\n');
  yield d('usr/share');
  yield d('usr/share/zoneinfo');
  yield d('usr/share/zoneinfo/Europe');
  yield f('usr/share/zoneinfo/Europe/Berlin', 'TZif2 Berlin');
  yield f('usr/share/zoneinfo/UTC', 'TZif2 UTC');
  yield d('var');
  yield d('var/lib');
  yield d('var/lib/dbus');
  yield l('var/lib/dbus/machine-id', '/etc/machine-id');
  yield d('var/lib/systemd');
  // Arch gives systemd-network the number 192; Debian gives the same name another number (998 here).
  yield d('var/lib/systemd/network', 0o755, { uid: 192, gid: 192, uname: 'systemd-network', gname: 'systemd-network' });
  if (o.bulkBytes) {
    yield d('usr/share/bulk');
    const files = o.bulkFiles ?? Math.max(1, Math.round(o.bulkBytes / (256 * 1024)));
    const each = Math.floor(o.bulkBytes / files);
    const text = Buffer.from('Arch Linux ARM is a port of Arch Linux for ARM processors. '.repeat(Math.ceil(each / 58)).slice(0, each));
    for (let i = 0; i < files; i++) {
      // half random (incompressible, like binaries), half text (compressible, like docs and scripts)
      const content = i % 2 === 0 ? randomBytes(each) : text;
      yield f(`usr/share/bulk/file-${String(i).padStart(5, '0')}`, content);
    }
  }
}

export async function buildFakeAlarm(o: FakeAlarmOptions): Promise<FakeAlarm> {
  mkdirSync(o.dir, { recursive: true });
  const variant = o.variant ?? 'mainline';
  const name = o.name ?? 'ArchLinuxARM-odroid-n2-latest.tar.gz';
  const tarball = join(o.dir, name);
  const uboot = randomBytes(o.ubootBytes ?? 400 * 1024);
  let uncompressed = 0;
  const counting = function* (it: Iterable<TarEntry>) {
    for (const e of it) {
      if (e.type === 'file') uncompressed += Buffer.byteLength(e.content ?? '');
      yield e;
    }
  };
  const md5 = await writeTarGz(tarball, counting(alarmEntries(o, uboot)), o.bulkBytes ? 1 : 6);
  const md5File = `${tarball}.md5`;
  writeFileSync(md5File, `${md5}  ${basename(tarball)}\n`);
  const bootloaderFile = join(o.dir, `${basename(tarball)}.${variant === 'mainline' ? 'u-boot.bin.sd.bin' : 'u-boot.bin'}`);
  writeFileSync(bootloaderFile, uboot);
  return { tarball, md5File, md5, bootloader: uboot, bootloaderFile, bytes: statSync(tarball).size, uncompressedBytes: uncompressed, variant };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP server

export interface ServedRequest {
  path: string;
  range?: string;
  status: number;
}

export interface TarballServer {
  url: string;
  requests: ServedRequest[];
  /** Cut the next N responses for PATH after `bytes` bytes (the connection is destroyed). */
  cutNext(path: string, times: number, bytes: number): void;
  /** Serve wrong bytes for PATH from now on (a corrupt mirror). */
  corrupt(path: string): void;
  close(): Promise<void>;
}

export async function serveFiles(dir: string): Promise<TarballServer> {
  const requests: ServedRequest[] = [];
  const cuts = new Map<string, { times: number; bytes: number }>();
  const corrupted = new Set<string>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(dir, basename(path));
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      requests.push({ path, status: 404 });
      res.writeHead(404).end('not found');
      return;
    }
    if (corrupted.has(path)) {
      body = Buffer.from(body);
      const mid = Math.floor(body.length / 2);
      body[mid] = (body[mid] ?? 0) ^ 0xff;
    }
    const range = req.headers.range;
    let start = 0;
    let status = 200;
    if (range) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (m) {
        start = Number(m[1]);
        if (start >= body.length) {
          requests.push({ path, range, status: 416 });
          res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
          return;
        }
        status = 206;
      }
    }
    requests.push({ path, range, status });
    const part = body.subarray(start);
    res.writeHead(status, {
      'Content-Length': String(part.length),
      'Accept-Ranges': 'bytes',
      ...(status === 206 ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const cut = cuts.get(path);
    if (cut && cut.times > 0) {
      cut.times--;
      res.write(part.subarray(0, Math.min(cut.bytes, part.length)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(part);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutNext(path, times, bytes) {
      cuts.set(path, { times, bytes });
    },
    corrupt(path) {
      corrupted.add(path);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
