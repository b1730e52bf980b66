// Arch's real tools from Debian (pacman-package-manager, makepkg) for the packages stage's tests:
// - an ordinary build user, because makepkg refuses root (even for --printsrcinfo);
// - makepkg --printsrcinfo of a PKGBUILD, parsed;
// - a scratch root for pacman (its own database, cache, log, keyring dir and pacman.conf with
//   Architecture = aarch64), so real pacman installs the aarch64 packages without touching this machine;
// - a local repository made with repo-add.
import { execFile, execFileSync } from 'node:child_process';
import { NODE_SOFTWARE } from '../../src/catalog/packages.ts';
import { DEFAULT_RELEASE } from '../../src/catalog/versions.ts';

const execFileSyncSh = (cmd: string) => execFileSync('sh', ['-c', cmd]);
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The unprivileged user makepkg runs as in the tests (global name: prefixed with the suite's name). */
export const BUILD_USER = 'packages-builder';

export async function ensureBuildUser(): Promise<void> {
  try {
    await run('id', ['-u', BUILD_USER]);
  } catch {
    await run('useradd', ['-m', '-s', '/bin/sh', BUILD_USER]).catch(async (e) => {
      // Another test file may have created it a moment ago.
      await run('id', ['-u', BUILD_USER]).catch(() => {
        throw e;
      });
    });
  }
}

/** A temp folder the build user owns (and can reach: /tmp is world-traversable). */
export function builderDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `packages-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export async function chownToBuilder(dir: string): Promise<void> {
  await run('chown', ['-R', `${BUILD_USER}:`, dir]);
}

export type Srcinfo = Record<string, string[]>;

/** `makepkg --printsrcinfo` of a PKGBUILD text, as the build user; throws with makepkg's words when it refuses. */
export async function printSrcinfo(pkgbuild: string): Promise<{ text: string; fields: Srcinfo }> {
  const dir = builderDir('srcinfo');
  try {
    fs.writeFileSync(path.join(dir, 'PKGBUILD'), pkgbuild);
    await chownToBuilder(dir);
    const r = await run('runuser', ['-u', BUILD_USER, '--', 'sh', '-c', 'cd "$1" && makepkg --printsrcinfo', 'sh', dir]);
    const fields: Srcinfo = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*([a-z0-9_]+) = (.*)$/.exec(line);
      if (m) (fields[m[1]!] ??= []).push(m[2]!);
    }
    return { text: r.stdout, fields };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** shellcheck's findings for a script (empty: clean). */
export async function shellcheck(script: string, shell: 'sh' | 'bash'): Promise<string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'packages-sc-')), 'script');
  fs.writeFileSync(file, script);
  try {
    await run('shellcheck', ['-s', shell, '-S', 'style', file]);
    return '';
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

export interface ScratchRoot {
  root: string;
  /** The pacman command line for this root (what the stage's scripts take as `pacman`). */
  pacman: string;
  conf: string;
  remove(): void;
}

/** A pacman root of its own; `repos` are local repositories (name -> folder holding NAME.db.tar.gz). */
export function scratchRoot(repos: Record<string, string> = {}): ScratchRoot {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'packages-root-'));
  for (const d of ['var/lib/pacman', 'var/cache/pacman/pkg', 'var/log', 'etc/pacman.d/gnupg', 'etc/pacman.d/hooks']) fs.mkdirSync(path.join(root, d), { recursive: true });
  const conf = path.join(root, 'etc/pacman.conf');
  fs.writeFileSync(
    conf,
    [
      '# a scratch root for the packages tests',
      '[options]',
      'Architecture = aarch64',
      '#IgnorePkg   =',
      'IgnorePkg = someones-own-package',
      'SigLevel = Never',
      'LocalFileSigLevel = Never',
      '',
      ...Object.entries(repos).flatMap(([name, dir]) => [`[${name}]`, `Server = file://${dir}`, '']),
    ].join('\n'),
  );
  const pacman = [
    'pacman',
    `--root ${root}`,
    `--dbpath ${root}/var/lib/pacman`,
    `--cachedir ${root}/var/cache/pacman/pkg`,
    `--logfile ${root}/var/log/pacman.log`,
    `--gpgdir ${root}/etc/pacman.d/gnupg`,
    `--hookdir ${root}/etc/pacman.d/hooks`,
    `--config ${conf}`,
    '--disable-download-timeout',
  ].join(' ');
  return { root, pacman, conf, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** repo-add: a local repository NAME in dir holding the given package files (copied in). */
export async function localRepository(dir: string, name: string, packageFiles: string[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const copies = packageFiles.map((f) => {
    const to = path.join(dir, path.basename(f));
    fs.copyFileSync(f, to);
    return to;
  });
  await run('repo-add', ['-q', path.join(dir, `${name}.db.tar.gz`), ...copies]);
}

/** A minimal PKGBUILD for a stand-in package (dependencies the boards get from Arch's repository). */
export function stubPkgbuild(name: string, version: string, files: Record<string, string> = {}): string {
  const lines = Object.entries(files).map(([p, text]) => `  install -d "$pkgdir"/${path.dirname(p)}\n  printf '%s\\n' '${text}' > "$pkgdir"/${p}`);
  return `pkgname=${name}\npkgver=${version}\npkgrel=1\npkgdesc='stand-in for ${name} (test)'\narch=('aarch64')\nlicense=('custom')\noptions=('!strip' '!debug')\npackage() {\n  install -d "$pkgdir"/usr/share/${name}\n${lines.join('\n')}\n}\n`;
}

/** Builds a PKGBUILD as the build user (aarch64), returning the package file's path. */
export async function makepkg(dir: string, carch = 'aarch64'): Promise<{ code: number; output: string }> {
  await chownToBuilder(dir);
  try {
    const r = await run('runuser', ['-u', BUILD_USER, '--', 'sh', '-c', `cd "$1" && CARCH=${carch} PKGEXT=.pkg.tar.zst makepkg --nodeps --force --noconfirm --noprogressbar 2>&1`, 'sh', dir], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, output: r.stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || String(e) };
  }
}

export interface ArtifactServer {
  /** http://127.0.0.1:PORT */
  base: string;
  /** Every request seen: path and its Range header (undefined: none). */
  requests: Array<{ path: string; range?: string }>;
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for dl.k8s.io and the release hosts: serves files by path with HTTP Range (206),
 * and cuts off the first response of the paths in `cutOnce` half-way, as a dropped connection does.
 */
export async function artifactServer(files: Record<string, string>, o: { cutOnce?: string[] } = {}): Promise<ArtifactServer> {
  const http = await import('node:http');
  const requests: ArtifactServer['requests'] = [];
  const cut = new Set(o.cutOnce ?? []);
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path: p, range: req.headers.range });
    const file = files[p];
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    const size = fs.statSync(file).size;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= size && m) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(m ? 206 : 200, { 'content-length': String(size - start), 'accept-ranges': 'bytes', ...(m ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}) });
    const stream = fs.createReadStream(file, { start });
    if (cut.delete(p)) {
      // Half the bytes, then the connection drops.
      let sent = 0;
      stream.on('data', (chunk) => {
        sent += chunk.length;
        if (sent > (size - start) / 2) {
          stream.destroy();
          res.socket?.destroy();
        }
      });
    }
    stream.pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return { base: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

/** A shell command (tar) for the stand-in archives. */
function tar(cmd: string): void {
  execFileSyncSh(cmd);
}

/** A stand-in program: a shell script that prints its name and version. */
function standIn(file: string, say: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\necho '${say} (stand-in for the test)'\n`, { mode: 0o755 });
}

/** Archives shaped like the real releases, under names the catalogue uses. */
export function standIns(dir: string): Record<string, string> {
  const sw = NODE_SOFTWARE[DEFAULT_RELEASE.minor]!;
  const out: Record<string, string> = {};
  const crio = path.join(dir, 'crio-bundle', 'cri-o');
  for (const b of ['crio', 'crio-status', 'pinns', 'conmon', 'conmonrs', 'crun', 'runc', 'crictl']) standIn(path.join(crio, 'bin', b), `${b} ${sw.crio}`);
  fs.mkdirSync(path.join(crio, 'contrib'), { recursive: true });
  fs.writeFileSync(path.join(crio, 'contrib', 'crio.service'), '[Service]\nExecStart=/usr/local/bin/crio $CRIO_CONFIG_OPTIONS\n');
  fs.mkdirSync(path.join(crio, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(crio, 'etc', '10-crun.conf'), '[crio.runtime]\ndefault_runtime = "crun"\n[crio.runtime.runtimes.crun]\nmonitor_path = "/usr/local/bin/conmon"\n');
  out['cri-o'] = path.join(dir, `cri-o.arm64.v${sw.crio}.tar.gz`);
  tar(`tar -C ${path.join(dir, 'crio-bundle')} -czf ${out['cri-o']} cri-o`);
  standIn(path.join(dir, 'crictl-dir', 'crictl'), `crictl ${sw.criTools}`);
  out['cri-tools'] = path.join(dir, `crictl-v${sw.criTools}-linux-arm64.tar.gz`);
  tar(`tar -C ${path.join(dir, 'crictl-dir')} -czf ${out['cri-tools']} crictl`);
  for (const b of ['containerd', 'containerd-shim-runc-v2', 'ctr']) standIn(path.join(dir, 'ctd', 'bin', b), `${b} v${sw.containerd}`);
  out.containerd = path.join(dir, `containerd-${sw.containerd}-linux-arm64.tar.gz`);
  tar(`tar -C ${path.join(dir, 'ctd')} -czf ${out.containerd} bin`);
  out.runc = path.join(dir, 'runc.arm64');
  standIn(out.runc, `runc ${sw.runc}`);
  return out;
}

