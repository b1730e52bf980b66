// One read through a root filesystem tarball: its md5 (what Arch Linux ARM publishes beside it) and a look
// inside (gunzip + a small tar header reader) for the boot files, the kernel versions and the CPU architecture
// of its programs, so a wrong or damaged tarball is refused before a card is touched.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DiskError, type OpOptions, type TarballFacts } from '../../ports/disks.ts';

const BLOCK = 512;

function octal(buf: Buffer, start: number, len: number): number {
  const b = buf.subarray(start, start + len);
  if (b[0]! & 0x80) {
    // GNU base-256 for big sizes
    let v = 0;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = b.toString('latin1').replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(buf: Buffer, start: number, len: number): string {
  const b = buf.subarray(start, start + len);
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
}

function normalise(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

function paxPath(data: Buffer): string | undefined {
  let i = 0;
  const s = data.toString('utf8');
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) break;
    const len = parseInt(s.slice(i, sp), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (rec.slice(0, eq) === 'path') return rec.slice(eq + 1);
    i += len;
  }
  return undefined;
}

/** A streaming tar reader: feed it the uncompressed bytes in any chunking. */
export class TarScanner {
  entries = 0;
  uncompressedBytes = 0;
  bootFiles: string[] = [];
  kernelVersions = new Set<string>();
  elf: TarballFacts['elf'] = null;
  ended = false;

  #header = Buffer.alloc(0);
  #remaining = 0; // data bytes left in the current entry (incl. padding)
  #capture: { kind: 'pax' | 'long' | 'elf'; path?: string; buf: Buffer; want: number } | null = null;
  #nextPath: string | undefined;

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.ended) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - off);
        if (this.#capture && this.#capture.buf.length < this.#capture.want) {
          const take = Math.min(n, this.#capture.want - this.#capture.buf.length);
          this.#capture.buf = Buffer.concat([this.#capture.buf, chunk.subarray(off, off + take)]);
        }
        this.#remaining -= n;
        off += n;
        if (this.#remaining === 0) this.#finishCapture();
        continue;
      }
      const need = BLOCK - this.#header.length;
      const take = Math.min(need, chunk.length - off);
      this.#header = Buffer.concat([this.#header, chunk.subarray(off, off + take)]);
      off += take;
      if (this.#header.length === BLOCK) {
        const h = this.#header;
        this.#header = Buffer.alloc(0);
        this.#onHeader(h);
      }
    }
  }

  #finishCapture(): void {
    const c = this.#capture;
    this.#capture = null;
    if (!c) return;
    if (c.kind === 'pax') this.#nextPath = paxPath(c.buf) ?? this.#nextPath;
    else if (c.kind === 'long') this.#nextPath = cstr(c.buf, 0, c.buf.length);
    else if (c.kind === 'elf' && !this.elf) {
      const b = c.buf;
      if (b.length >= 20 && b[0] === 0x7f && b.toString('latin1', 1, 4) === 'ELF') {
        const little = b[5] === 1;
        const machine = little ? b.readUInt16LE(18) : b.readUInt16BE(18);
        this.elf = { path: c.path ?? '', machine, class: b[4] === 2 ? 64 : 32 };
      }
    }
  }

  #onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      this.ended = true; // end-of-archive marker
      return;
    }
    const sum = octal(h, 148, 8);
    let check = 0;
    for (let i = 0; i < BLOCK; i++) check += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== check) throw new DiskError('io', 'the tarball is damaged (a tar header checksum does not match)', 'delete the cached file and download it again');
    const type = String.fromCharCode(h[156]!) || '0';
    const size = octal(h, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const magic = h.toString('latin1', 257, 262);
    let name = cstr(h, 0, 100);
    if (magic === 'ustar') {
      const prefix = cstr(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (type === 'x' || type === 'L') {
      this.#capture = { kind: type === 'x' ? 'pax' : 'long', buf: Buffer.alloc(0), want: size };
      this.#remaining = padded;
      if (padded === 0) this.#finishCapture();
      return;
    }
    if (type === 'g' || type === 'K') {
      this.#remaining = padded;
      return;
    }
    const path = normalise(this.#nextPath ?? name);
    this.#nextPath = undefined;
    this.entries++;
    if (type === '0' || type === '\0' || type === '7') this.uncompressedBytes += size;
    if (path.startsWith('boot/')) this.bootFiles.push(type === '5' && !path.endsWith('/') ? `${path}/` : path);
    const km = /^usr\/lib\/modules\/([^/]+)\//.exec(path.endsWith('/') ? path : `${path}/`);
    if (km && !km[1]!.startsWith('extramodules')) this.kernelVersions.add(km[1]!);
    if (!this.elf && (type === '0' || type === '\0') && size >= 20 && /^(usr\/)?bin\/[^/]+$/.test(path)) {
      this.#capture = { kind: 'elf', path, buf: Buffer.alloc(0), want: 64 };
    }
    this.#remaining = padded;
    if (padded === 0) this.#finishCapture();
  }
}

/** md5 of the file and a look inside, in one read. */
export async function inspectTarball(path: string, opts: OpOptions = {}): Promise<TarballFacts> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new DiskError('missing', `${path} does not exist`);
  const md5 = createHash('md5');
  const scanner = new TarScanner();
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  // A damaged file still gets its md5 (the caller compares it first: "checksum mismatch" says more than
  // "incorrect data check"), so a gzip or tar error only stops the look inside, not the read.
  let damaged: string | undefined;
  let gunzipDead = false;
  let done = 0;
  let last = 0;
  let first = true;
  await new Promise<void>((resolve, reject) => {
    const src = createReadStream(path, { highWaterMark: 1 << 20, signal: opts.signal });
    const fail = (e: Error) => {
      src.destroy();
      gunzip.destroy();
      reject(e);
    };
    src.on('data', (chunk) => {
      const b = chunk as Buffer;
      if (first) {
        first = false;
        if (b[0] !== 0x1f || b[1] !== 0x8b) {
          fail(new DiskError('io', `${path} is not a gzip-compressed tarball`, 'use the .tar.gz from os.archlinuxarm.org/os/ for this board'));
          return;
        }
      }
      md5.update(b);
      done += b.length;
      if (gunzipDead) return;
      const now = Date.now();
      if (opts.progress && now - last > 250) {
        last = now;
        opts.progress({ done, total: st.size });
      }
      if (!gunzip.write(b)) {
        src.pause();
        gunzip.once('drain', () => src.resume());
      }
    });
    src.on('end', () => {
      if (gunzipDead) resolve();
      else gunzip.end();
    });
    src.on('error', fail);
    gunzip.on('data', (c: Buffer) => {
      try {
        if (!scanner.ended && !damaged) scanner.push(c);
      } catch (e) {
        damaged = (e as Error).message;
      }
    });
    gunzip.on('error', (e) => {
      damaged = `the tarball is damaged (${e.message})`;
      gunzipDead = true;
      src.resume();
      if (src.readableEnded) resolve();
    });
    gunzip.on('end', () => resolve());
  });
  opts.progress?.({ done: st.size, total: st.size });
  return {
    entries: scanner.entries,
    uncompressedBytes: scanner.uncompressedBytes,
    compressedBytes: st.size,
    bootFiles: scanner.bootFiles,
    kernelVersions: [...scanner.kernelVersions].sort(),
    elf: scanner.elf,
    md5: md5.digest('hex'),
    ...(damaged ? { damaged } : {}),
  };
}
