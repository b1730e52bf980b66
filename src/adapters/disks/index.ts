// The real Disks adapter: lsblk/findmnt for the facts, sfdisk, partx, mkfs, mount, bsdtar, dd and mkimage for
// the changes, plain reads for the checks. Every change passes a guard first: never the system disk, never a
// device mounted anywhere but under this adapter's own mount folder, never a file outside it.
import { spawn } from 'node:child_process';
import { constants, createReadStream, existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, readlink, rm, statfs, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import {
  DiskError,
  commandLine,
  deviceName,
  isInside,
  type BlockDevice,
  type DiskOp,
  type Disks,
  type FetchResult,
  type FileFacts,
  type OpOptions,
  type PartitionTableDump,
  type TarballFacts,
} from '../../ports/disks.ts';
import { download, fetchText } from './download.ts';
import { parseFindmnt, parseLsblk, parseSwaps, type MountFact } from './lsblk.ts';
import { inspectTarball } from './tarball.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RealDisksOptions {
  /** Where cards are mounted while they are written (default: TMPDIR/boardkube-flash). */
  mountBase?: string;
  /** Prefix commands with `sudo -n` (default: when this process is not root). */
  sudo?: boolean;
}

const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findTool(name: string): string | null {
  for (const d of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...TOOL_DIRS]) {
    const p = join(d, name);
    try {
      const st = statSync(p);
      if (st.isFile() && st.mode & 0o111) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Runs a program without a shell. stdin: text, or a stream (piped with back-pressure). */
export function run(argv: string[], opts: { stdin?: string | Readable; signal?: AbortSignal; onStderr?: (l: string) => void } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const exe = file!.includes('/') ? file! : (findTool(file!) ?? file!);
    const child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: opts.signal, env: { ...process.env, LC_ALL: 'C', MTOOLS_SKIP_CHECK: '1' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (opts.onStderr) for (const l of b.toString().split('\n')) if (l.trim()) opts.onStderr(l);
    });
    child.stdin.on('error', () => {
      /* the program may exit before reading everything; its exit code tells */
    });
    if (typeof opts.stdin === 'string') child.stdin.end(opts.stdin);
    else if (opts.stdin) opts.stdin.pipe(child.stdin);
    else child.stdin.end();
    child.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') resolve({ code: 127, stdout: '', stderr: `${file}: command not found` });
      else reject(e);
    });
    child.on('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** Like run(), with the child's pid at hand (for progress from /proc). */
function runWithPid(argv: string[], opts: { signal?: AbortSignal } = {}): { pid: number | undefined; done: Promise<RunResult> } {
  const [file, ...args] = argv;
  const child = spawn(findTool(file!) ?? file!, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, env: { ...process.env, LC_ALL: 'C' } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? resolve({ code: 127, stdout: '', stderr: `${file}: command not found` }) : reject(e)));
    child.on('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
  return { pid: child.pid, done };
}

/** How far process pid has read into file (its file position, from /proc/PID/fdinfo), or null. */
function readPosition(pid: number | undefined, file: string): number | null {
  if (!pid) return null;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== file) continue;
      const m = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      return m ? Number(m[1]) : null;
    }
  } catch {
    /* the process has ended */
  }
  return null;
}

function tail(text: string, n = 4): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

function loopBackingFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const name of readdirSync('/sys/block')) {
      if (!name.startsWith('loop')) continue;
      try {
        out[name] = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
      } catch {
        /* not attached */
      }
    }
  } catch {
    /* no sysfs */
  }
  return out;
}

/** Mount point → source, from /proc/self/mountinfo. */
export function mountTable(): Map<string, string> {
  const m = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return m;
  }
  const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_x, o: string) => String.fromCharCode(parseInt(o, 8)));
  for (const line of text.split('\n')) {
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0 || parts.length < 5) continue;
    m.set(unescape(parts[4]!), unescape(parts[sep + 2] ?? ''));
  }
  return m;
}

/** Mount facts (source, target, maj:min) from /proc/self/mountinfo, as findmnt -l gives them. */
export function mountFacts(): MountFact[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (x: string) => x.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountFact[] = [];
  for (const line of text.split('\n')) {
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0 || parts.length < 5) continue;
    out.push({ source: unescape(parts[sep + 2] ?? ''), target: unescape(parts[4]!), majMin: parts[2] });
  }
  return out;
}

export class RealDisks implements Disks {
  readonly ownMountBase: string;
  readonly #sudo: boolean;

  constructor(o: RealDisksOptions = {}) {
    this.ownMountBase = o.mountBase ?? join(tmpdir(), 'boardkube-flash');
    this.#sudo = o.sudo ?? (typeof process.getuid === 'function' && process.getuid() !== 0);
  }

  #argv(argv: string[]): string[] {
    return this.#sudo ? ['sudo', '-n', ...argv] : argv;
  }

  async #run(argv: string[], opts: { stdin?: string | Readable; signal?: AbortSignal; onStderr?: (l: string) => void } = {}): Promise<RunResult> {
    return run(this.#argv(argv), opts);
  }

  /**
   * Every block device. `full`: every lsblk column (-O: filesystem types and labels too, which lsblk finds by
   * reading the devices, slow while a card is being written); otherwise the columns the safety checks need.
   */
  async list(signal?: AbortSignal, full = true): Promise<BlockDevice[]> {
    const cols = full ? ['-O'] : ['-o', 'NAME,KNAME,PATH,SIZE,TYPE,TRAN,RM,HOTPLUG,RO,MODEL,VENDOR,SERIAL,MOUNTPOINTS,MAJ:MIN,PKNAME'];
    const lsblk = await run(['lsblk', '-J', '-b', ...cols], { signal });
    if (lsblk.code !== 0) throw new DiskError('io', `lsblk failed: ${tail(lsblk.stderr)}`, 'install util-linux');
    // The full list asks findmnt; the quick one (the safety checks before each change) reads the same facts
    // from /proc/self/mountinfo without starting a program.
    let mounts = full ? [] : mountFacts();
    if (full || mounts.length === 0) {
      const fm = await run(['findmnt', '-J', '-l', '-o', 'SOURCE,TARGET,MAJ:MIN'], { signal });
      mounts = fm.code === 0 ? parseFindmnt(fm.stdout) : [];
    }
    let swaps: string[] = [];
    try {
      swaps = parseSwaps(readFileSync('/proc/swaps', 'utf8'));
    } catch {
      /* no /proc/swaps */
    }
    return parseLsblk(lsblk.stdout, { mounts, swaps }, loopBackingFiles());
  }

  async get(path: string, signal?: AbortSignal): Promise<BlockDevice | null> {
    let real = path;
    try {
      const { realpathSync } = await import('node:fs');
      real = realpathSync(path);
    } catch {
      return null;
    }
    return (await this.list(signal, false)).find((d) => d.path === real) ?? null;
  }

  async mountedAt(dir: string): Promise<string | null> {
    return mountTable().get(dir) ?? null;
  }

  /**
   * The last line of defence, whatever the flow asked. Paths must lie under this adapter's mount folder. A change
   * to the raw device (partition table, filesystems, dd, the FAT partition) first looks at the device afresh
   * (lsblk, findmnt, /proc/swaps): never the system disk, never mounted elsewhere, not read-only. A file written
   * through the mount only needs the mount to be this device's partition (from /proc/self/mountinfo).
   */
  async #guard(op: DiskOp): Promise<void> {
    const paths: string[] = [];
    if ('path' in op) paths.push(op.path);
    if (op.op === 'mount' || op.op === 'umount' || op.op === 'extract') paths.push(op.target);
    if (op.op === 'mkimage') paths.push(op.output);
    if (op.op === 'fat-copy-in') paths.push(op.sourceDir);
    if (op.op === 'fat-copy-out') paths.push(op.dest);
    for (const p of paths) {
      if (!isInside(p, this.ownMountBase)) throw new DiskError('refused', `refusing to ${op.op} ${p}: outside ${this.ownMountBase}`);
    }
    if (!op.device) return;
    const raw = op.op === 'partition' || op.op === 'reread' || op.op === 'mkfs' || op.op === 'dd' || op.op === 'fat-copy-in' || op.op === 'mount' || op.op === 'eject';
    if (!raw) {
      const mounts = mountTable();
      for (const p of paths) {
        let best = '';
        for (const target of mounts.keys()) if (isInside(p, target) && target.length > best.length) best = target;
        const source = mounts.get(best) ?? '';
        if (isInside(best, this.ownMountBase) && !(source === op.device || source.startsWith(op.device))) {
          throw new DiskError('refused', `refusing to ${op.op} ${p}: ${best} holds ${source || 'nothing'}, not a partition of ${op.device}`);
        }
      }
      if (op.op !== 'umount' && !existsSync(op.device)) throw new DiskError('gone', `${op.device} is not there any more (card pulled out?)`, 'put the card back and run the same command again: finished steps are not repeated');
      return;
    }
    const dev = await this.get(op.device);
    if (!dev) throw new DiskError('gone', `${op.device} is not there any more (card pulled out?)`, 'put the card back and run the same command again: finished steps are not repeated');
    if (dev.system) throw new DiskError('refused', `refusing to touch ${dev.path}: it is this computer's system disk (${dev.systemReason})`);
    const foreign = dev.mountpoints.filter((m) => !isInside(m, this.ownMountBase));
    if (foreign.length > 0) throw new DiskError('refused', `refusing to touch ${dev.path}: it is mounted at ${foreign.join(', ')}`, `unmount it first (umount ${foreign.join(' ')})`);
    if (dev.readOnly && op.op !== 'eject') throw new DiskError('refused', `${dev.path} is read-only`, 'slide the lock switch on the SD card or adapter to "unlocked"');
  }

  async #failed(op: DiskOp, r: RunResult): Promise<never> {
    if (op.device && !(await this.get(op.device).catch(() => null))) {
      throw new DiskError('gone', `${op.device} disappeared during "${op.describe}" (card pulled out?)`, 'put the card back and run the same command again: the card is written again from the step that broke');
    }
    throw new DiskError('io', `"${commandLine(op).split('\n')[0]}" exited ${r.code}: ${tail(r.stderr || r.stdout)}`);
  }

  async exec(op: DiskOp, opts: OpOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    await this.#guard(op);
    const check = async (r: RunResult) => {
      if (r.code !== 0) await this.#failed(op, r);
    };
    switch (op.op) {
      case 'partition':
        return check(await this.#run(op.argv, { stdin: op.stdin, signal: opts.signal }));
      case 'reread': {
        const r = await this.#run(op.argv, { signal: opts.signal });
        if (r.code !== 0) opts.log?.(`${op.argv.join(' ')}: ${tail(r.stderr)} (waiting for the partitions anyway)`);
        const deadline = Date.now() + op.timeoutMs;
        for (;;) {
          const missing = op.nodes.filter((n) => {
            try {
              return !statSync(n).isBlockDevice();
            } catch {
              return true;
            }
          });
          if (missing.length === 0) return;
          if (Date.now() > deadline) {
            if (!(await this.get(op.device))) throw new DiskError('gone', `${op.device} disappeared while its partitions were being registered`);
            throw new DiskError('timeout', `the kernel did not create ${missing.join(', ')} within ${Math.round(op.timeoutMs / 1000)} s after partitioning ${op.device}`, `run \`partx -u ${op.device}\` (or partprobe), or pull the card out and put it back, then run the same command again`);
          }
          await new Promise((res) => setTimeout(res, 25));
          opts.signal?.throwIfAborted();
        }
      }
      case 'mkfs':
      case 'dd':
      case 'sync':
        return check(await this.#run(op.argv, { signal: opts.signal }));
      case 'mkimage':
      case 'fat-copy-in':
      case 'clear-dir':
        return check(await this.#run(op.argv, { signal: opts.signal }));
      case 'fat-copy-out':
        await this.#mkdir(dirname(op.dest), 0o755);
        return check(await this.#run(op.argv, { signal: opts.signal }));
      case 'eject': {
        const r = await this.#run(op.argv, { signal: opts.signal });
        if (r.code !== 0) opts.log?.(`eject: ${tail(r.stderr) || 'not possible here'}; the card is unmounted and synced, it is safe to pull it out`);
        return;
      }
      case 'mount': {
        const now = await this.mountedAt(op.target);
        if (now === op.partition) return;
        if (now) throw new DiskError('refused', `${op.target} already has ${now} mounted`, `umount ${op.target}`);
        await this.#mkdir(op.target, 0o755);
        return check(await this.#run(op.argv, { signal: opts.signal }));
      }
      case 'umount': {
        if (!(await this.mountedAt(op.target))) return;
        return check(await this.#run(op.argv, { signal: opts.signal }));
      }
      case 'extract': {
        const total = statSync(op.tarball).size;
        let rate = 0;
        let lastDone = 0;
        let lastAt = Date.now();
        const report = (done: number) => {
          const now = Date.now();
          const dt = (now - lastAt) / 1000;
          if (dt > 0 && done >= lastDone) rate = rate ? 0.7 * rate + 0.3 * ((done - lastDone) / dt) : (done - lastDone) / dt;
          lastAt = now;
          lastDone = done;
          opts.progress?.({ done, total, rate });
        };
        if (this.#sudo) {
          // Not root: bsdtar runs under sudo and its file position is not ours to read; stream the tarball through.
          let done = 0;
          let last = 0;
          const src = createReadStream(op.tarball, { highWaterMark: 1 << 20 });
          src.on('data', (b) => {
            done += (b as Buffer).length;
            if (Date.now() - last >= 250) {
              last = Date.now();
              report(done);
            }
          });
          const argv = op.argv.map((a, i) => (op.argv[i - 1] === '-f' ? '-' : a));
          await check(await this.#run(argv, { stdin: src, signal: opts.signal }));
        } else {
          // Root: bsdtar reads the file itself (faster than a pipe); progress is its read position in /proc.
          const r = runWithPid(op.argv, { signal: opts.signal });
          const timer = setInterval(() => {
            const pos = readPosition(r.pid, resolvePath(op.tarball));
            if (pos !== null) report(pos);
          }, 250);
          try {
            await check(await r.done);
          } finally {
            clearInterval(timer);
          }
        }
        opts.progress?.({ done: total, total, rate });
        return;
      }
      case 'write-file':
        if (this.#sudo) {
          await check(await this.#run(['install', '-D', '-m', op.mode.toString(8), '/dev/stdin', op.path], { stdin: op.content }));
          if (op.touchNow) await check(await this.#run(['touch', op.path]));
          return;
        }
        await mkdir(dirname(op.path), { recursive: true });
        await rm(op.path, { force: true });
        await writeFile(op.path, op.content, { mode: op.mode });
        await chmod(op.path, op.mode);
        if (op.touchNow) {
          const now = new Date();
          await utimes(op.path, now, now);
        }
        return;
      case 'symlink':
        if (this.#sudo) return check(await this.#run(['ln', '-sfn', op.target, op.path]));
        await mkdir(dirname(op.path), { recursive: true });
        await rm(op.path, { force: true });
        await symlink(op.target, op.path);
        return;
      case 'remove':
        if (this.#sudo) return check(await this.#run(['rm', '-f', op.path]));
        await rm(op.path, { force: true });
        return;
      case 'mkdir':
        return this.#mkdir(op.path, op.mode);
    }
  }

  async #mkdir(path: string, mode: number): Promise<void> {
    if (this.#sudo) {
      const r = await this.#run(['mkdir', '-p', '-m', mode.toString(8), path]);
      if (r.code !== 0) throw new DiskError('io', `mkdir ${path}: ${tail(r.stderr)}`);
      return;
    }
    await mkdir(path, { recursive: true });
    await chmod(path, mode);
  }

  async readTable(device: string, signal?: AbortSignal): Promise<PartitionTableDump | null> {
    const r = await this.#run(['sfdisk', '--json', device], { signal });
    if (r.code !== 0) {
      if (/does not contain a recognized partition table/i.test(r.stderr)) return null;
      if (!existsSync(device)) throw new DiskError('gone', `${device} is not there any more`);
      throw new DiskError('io', `sfdisk --json ${device}: ${tail(r.stderr)}`);
    }
    const t = (JSON.parse(r.stdout) as { partitiontable: { label: string; id: string; sectorsize?: number; partitions?: Array<{ node: string; start: number; size: number; type: string }> } }).partitiontable;
    return { label: t.label, id: t.id, sectorSize: t.sectorsize ?? 512, partitions: (t.partitions ?? []).map((p) => ({ node: p.node, start: p.start, size: p.size, type: p.type })) };
  }

  async readBytes(device: string, offset: number, length: number): Promise<Buffer> {
    if (this.#sudo) {
      const r = await new Promise<Buffer>((resolve, reject) => {
        const c = spawn('sudo', ['-n', 'dd', `if=${device}`, 'iflag=skip_bytes,count_bytes', `skip=${offset}`, `count=${length}`, 'status=none']);
        const out: Buffer[] = [];
        c.stdout.on('data', (b: Buffer) => out.push(b));
        c.on('error', reject);
        c.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new DiskError('io', `cannot read ${device}`))));
      });
      return r;
    }
    const fh = await open(device, constants.O_RDONLY).catch((e: NodeJS.ErrnoException) => {
      throw new DiskError(e.code === 'ENOENT' || e.code === 'ENXIO' ? 'gone' : 'io', `cannot open ${device}: ${e.message}`);
    });
    try {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  async readFile(path: string): Promise<Buffer | null> {
    if (this.#sudo) {
      const r = await this.#run(['cat', path]);
      return r.code === 0 ? Buffer.from(r.stdout) : null;
    }
    return readFile(path).catch(() => null);
  }

  async readFat(partition: string, path: string): Promise<Buffer | null> {
    const r = await new Promise<{ code: number; out: Buffer }>((resolve, reject) => {
      const argv = this.#argv(['mcopy', '-n', '-i', partition, `::${path}`, '-']);
      const c = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
      const out: Buffer[] = [];
      c.stdout.on('data', (b: Buffer) => out.push(b));
      c.stderr.resume();
      c.on('error', reject);
      c.on('close', (code) => resolve({ code: code ?? 1, out: Buffer.concat(out) }));
    });
    return r.code === 0 ? r.out : null;
  }

  async listFat(partition: string): Promise<string[]> {
    const r = await this.#run(['mdir', '-/', '-b', '-i', partition, '::/']);
    if (r.code !== 0) throw new DiskError('io', `mdir ${partition}: ${tail(r.stderr)}`);
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('::/'))
      .map((l) => l.slice(2));
  }

  async stat(path: string): Promise<FileFacts | null> {
    const st = await lstat(path).catch(() => null);
    if (!st) return null;
    return {
      type: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other',
      size: st.size,
      mode: st.mode & 0o7777,
      mtimeMs: st.mtimeMs,
      target: st.isSymbolicLink() ? await readlink(path) : undefined,
    };
  }

  fetch(url: string, dest: string, opts?: OpOptions): Promise<FetchResult> {
    return download(url, dest, opts);
  }

  fetchText(url: string, signal?: AbortSignal): Promise<string> {
    return fetchText(url, signal);
  }

  inspectTarball(path: string, opts?: OpOptions): Promise<TarballFacts> {
    return inspectTarball(path, opts);
  }

  async writeLocalFile(path: string, content: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }

  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async freeBytes(dir: string): Promise<number> {
    await mkdir(dir, { recursive: true });
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  }

  async verifySignature(file: string, sigUrl: string, keyFingerprint: string, signal?: AbortSignal): Promise<{ status: 'good' | 'bad' | 'unavailable'; detail: string }> {
    if (!findTool('gpg')) return { status: 'unavailable', detail: 'gpg is not installed' };
    const key = await run(['gpg', '--batch', '--list-keys', keyFingerprint], { signal });
    if (key.code !== 0) return { status: 'unavailable', detail: `the Arch Linux ARM signing key ${keyFingerprint} is not in your gpg keyring` };
    const sig = `${file}.sig`;
    try {
      await download(sigUrl, sig, { signal, maxRetries: 1 });
    } catch (e) {
      return { status: 'unavailable', detail: `no signature at ${sigUrl} (${(e as Error).message})` };
    }
    const v = await run(['gpg', '--batch', '--verify', sig, file], { signal });
    return v.code === 0 ? { status: 'good', detail: tail(v.stderr, 2) } : { status: 'bad', detail: tail(v.stderr, 3) };
  }
}

export { deviceName };
