// The Workbench port on this computer: downloads with resume (the same downloader as the flash stage's image
// cache), sha256 by streaming, and makepkg as an ordinary user (makepkg refuses root: as root it runs through
// runuser, and the build folder is handed to that user first).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { download, fetchText } from '../disks/download.ts';
import type { FetchResult, OpOptions } from '../../ports/disks.ts';
import type { ExecResult } from '../../ports/host.ts';
import type { Local } from '../../ports/local.ts';
import type { MakepkgOptions, Workbench } from '../../ports/workbench.ts';

export class LocalWorkbench implements Workbench {
  constructor(
    readonly dir: string,
    private readonly local: Local,
  ) {}

  fetch(url: string, dest: string, opts?: OpOptions): Promise<FetchResult> {
    return download(url, dest, opts);
  }

  fetchText(url: string, signal?: AbortSignal): Promise<string> {
    return fetchText(url, signal);
  }

  async sha256(path: string, signal?: AbortSignal): Promise<string | null> {
    const hash = createHash('sha256');
    try {
      await pipeline(createReadStream(path), hash, { signal });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return hash.digest('hex');
  }

  async readFile(path: string): Promise<Buffer | null> {
    return readFile(path).catch(() => null);
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, content, { mode });
    await rename(tmp, path);
  }

  async copy(from: string, to: string): Promise<void> {
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, `${to}.part`);
    await rename(`${to}.part`, to);
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true, recursive: true });
  }

  async list(dir: string): Promise<string[]> {
    return readdir(dir).catch(() => []);
  }

  async freeBytes(dir: string): Promise<number> {
    await mkdir(dir, { recursive: true });
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  }

  async makepkg(): Promise<string | null> {
    return (await this.local.tool('makepkg')).path;
  }

  async runMakepkg(dir: string, opts: MakepkgOptions): Promise<ExecResult> {
    // --nodeps: the dependencies are the boards' (aarch64) packages, not this computer's; --force: rebuild over a
    // package an interrupted run left. CARCH picks the architecture, PKGEXT the compression Arch uses.
    const script = `cd "$1" && CARCH="$2" PKGEXT=.pkg.tar.zst makepkg --nodeps --force --noconfirm --noprogressbar`;
    const io = { signal: opts.signal, onStdout: opts.onLine, onStderr: opts.onLine };
    if (!this.local.isRoot()) return this.local.run('sh', ['-c', script, 'makepkg', dir, opts.carch], io);
    // As root: makepkg runs as an ordinary user, who may not reach root's state folder (/root is 0700): the
    // build happens in a folder of its own under the temp dir, and the package is copied back.
    const user = opts.user ?? 'nobody';
    const scratch = await mkdtemp(join(tmpdir(), 'boardkube-makepkg-'));
    try {
      await chmod(scratch, 0o755);
      for (const f of await readdir(dir, { withFileTypes: true })) if (f.isFile()) await copyFile(join(dir, f.name), join(scratch, f.name));
      await handOver(scratch, user, this.local);
      const r = await this.local.run('runuser', ['-u', user, '--', 'sh', '-c', script, 'makepkg', scratch, opts.carch], io);
      for (const f of await readdir(scratch)) if (f.endsWith('.pkg.tar.zst')) await copyFile(join(scratch, f), join(dir, f));
      return r;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

/** Gives the build folder (and everything in it) to the user makepkg runs as. */
async function handOver(dir: string, user: string, local: Local): Promise<void> {
  const r = await local.run('id', ['-u', user]);
  const g = await local.run('id', ['-g', user]);
  if (r.code !== 0) throw new Error(`there is no user "${user}" on this computer to run makepkg as (makepkg refuses root)`);
  const uid = Number(r.stdout.trim());
  const gid = Number(g.stdout.trim());
  const walk = async (p: string): Promise<void> => {
    await chown(p, uid, gid);
    for (const e of await readdir(p, { withFileTypes: true }).catch(() => [])) {
      const child = `${p}/${e.name}`;
      if (e.isDirectory()) await walk(child);
      else await chown(child, uid, gid);
    }
  };
  await walk(dir);
}
