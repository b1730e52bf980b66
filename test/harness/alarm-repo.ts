// A local Arch Linux ARM package repository for test boards (test/harness/system-board.ts): tiny aarch64 packages
// built with the real makepkg (as an ordinary user: makepkg refuses root), signed with a test build key whose uid
// ends in @archlinuxarm.org (a stand-in for the Arch Linux ARM build keys), indexed with the real repo-add. The
// packages hold only files under /boot and /usr/lib/modules, both private to a test board.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BUILD_USER = 'bk-builder';

export interface TestPackage {
  name: string;
  version: string;
  /** Shell lines for package() ("$pkgdir" is the package root). */
  files: string[];
}

export interface AlarmRepo {
  /** file:// repository "core" (core.db + packages + signatures). */
  repoDir: string;
  /** The packages a fresh card has installed (pacman -U). */
  imageDir: string;
  /** What /usr/share/keyrings holds for `pacman-key --populate archlinuxarm`. */
  keyringDir: string;
  fingerprint: string;
  dir: string;
}

/** The running kernel's release: the mainline package brings its modules, so the board finds them after the reboot. */
const release = os.release();

export const IMAGE_PACKAGES: TestPackage[] = [
  { name: 'linux-odroid-n2', version: '4.9.337-13', files: ['install -d "$pkgdir/boot" "$pkgdir/usr/lib/modules/4.9.337-13-ARCH"', 'echo "vendor kernel 4.9.337-13" > "$pkgdir/boot/Image"', ': > "$pkgdir/usr/lib/modules/4.9.337-13-ARCH/modules.dep"'] },
  { name: 'uboot-odroid-n2', version: '2015.01-30', files: ['install -d "$pkgdir/boot"', 'head -c 700000 /dev/urandom > "$pkgdir/boot/u-boot.bin.sd.bin"'] },
  { name: 'archlinuxarm-keyring', version: '20240419-1', files: [] },
  { name: 'boardkube-test-base', version: '1-1', files: [] },
];

export const REPO_PACKAGES: TestPackage[] = [
  { name: 'archlinuxarm-keyring', version: '20240419-1', files: [] },
  { name: 'boardkube-test-base', version: '1-2', files: [] },
  {
    name: 'linux-aarch64',
    version: '6.17.9-1',
    files: ['install -d "$pkgdir/boot/dtbs/amlogic" "$pkgdir/usr/lib/modules/' + release + '"', 'echo "mainline kernel linux-aarch64 6.17.9" > "$pkgdir/boot/Image"', ': > "$pkgdir/boot/dtbs/amlogic/meson-g12b-odroid-n2.dtb"', ': > "$pkgdir/usr/lib/modules/' + release + '/modules.dep"'],
  },
  { name: 'uboot-odroid-n2', version: '2025.01-1', files: ['install -d "$pkgdir/boot"', 'head -c 800000 /dev/urandom > "$pkgdir/boot/u-boot.bin.sd.bin"'] },
  // This machine's mkimage is the real one; the package only has to exist.
  { name: 'uboot-tools', version: '2025.01-1', files: [] },
];

function sh(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...opts });
}

function ensureBuildUser(): void {
  try {
    sh(['id', '-u', BUILD_USER]);
  } catch {
    try {
      sh(['useradd', '-m', '-s', '/bin/sh', BUILD_USER]);
    } catch (e) {
      // Another test process created it meanwhile.
      sh(['id', '-u', BUILD_USER]);
      void e;
    }
  }
}

function pkgbuild(p: TestPackage): string {
  const [ver, rel] = p.version.split(/-(?=[^-]+$)/);
  return [
    `pkgname=${p.name}`,
    `pkgver=${ver!.replace(/-/g, '_')}`,
    `pkgrel=${rel}`,
    "pkgdesc='boardkube test package'",
    "arch=('aarch64')",
    "license=('custom')",
    "options=('!strip' '!debug')",
    'package() {',
    '  :',
    ...p.files.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
}

/** Builds one package as the build user; returns the package file. */
function build(p: TestPackage, work: string, out: string): string {
  const dir = path.join(work, `${p.name}-${p.version}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'PKGBUILD'), pkgbuild(p));
  sh(['chown', '-R', BUILD_USER, dir]);
  sh(['runuser', '-u', BUILD_USER, '--', 'env', 'CARCH=aarch64', `PKGDEST=${dir}`, 'PKGEXT=.pkg.tar.gz', 'makepkg', '-f', '--nodeps', '--noconfirm'], { cwd: dir });
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.pkg.tar.gz'));
  if (!file) throw new Error(`makepkg made no package for ${p.name}`);
  fs.copyFileSync(path.join(dir, file), path.join(out, file));
  return path.join(out, file);
}

/**
 * The repository, built once per package list and kernel release and kept in ~/.cache/boardkube (makepkg takes
 * seconds per package); parallel test processes that build at once keep whichever lands first.
 */
export function alarmRepo(): AlarmRepo {
  const key = createHash('sha256').update(JSON.stringify([IMAGE_PACKAGES, REPO_PACKAGES, release, pkgbuild.toString(), 2])).digest('hex').slice(0, 16);
  const cache = path.join(process.env.BOARDKUBE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'boardkube'), `test-alarm-repo-${key}`);
  const paths = (dir: string, fingerprint: string): AlarmRepo => ({ dir, repoDir: path.join(dir, 'repo'), imageDir: path.join(dir, 'image'), keyringDir: path.join(dir, 'keyrings'), fingerprint });
  const done = path.join(cache, 'fingerprint');
  if (fs.existsSync(done)) return paths(cache, fs.readFileSync(done, 'utf8').trim());
  fs.mkdirSync(path.dirname(cache), { recursive: true });
  const built = buildAlarmRepo(path.dirname(cache));
  fs.writeFileSync(path.join(built.dir, 'fingerprint'), built.fingerprint);
  try {
    fs.renameSync(built.dir, cache);
  } catch {
    fs.rmSync(built.dir, { recursive: true, force: true });
  }
  fs.chmodSync(cache, 0o755);
  return paths(cache, fs.readFileSync(done, 'utf8').trim());
}

function buildAlarmRepo(base: string): AlarmRepo {
  for (const tool of ['makepkg', 'repo-add', 'pacman', 'pacman-key', 'gpg']) {
    try {
      sh(['sh', '-c', `command -v ${tool}`]);
    } catch {
      throw new Error(`${tool} is missing: apt-get install -y pacman-package-manager makepkg gnupg`);
    }
  }
  ensureBuildUser();
  const dir = fs.mkdtempSync(path.join(base, 'bk-alarm-repo-'));
  fs.chmodSync(dir, 0o755);
  // makepkg runs as the build user, who cannot enter root's home: build under /tmp.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-alarm-build-'));
  const repoDir = path.join(dir, 'repo');
  const imageDir = path.join(dir, 'image');
  const keyringDir = path.join(dir, 'keyrings');
  const gnupg = path.join(dir, 'gnupg');
  for (const d of [repoDir, imageDir, keyringDir]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  fs.mkdirSync(gnupg, { mode: 0o700 });
  fs.chmodSync(work, 0o777);
  const gpg = (...args: string[]) => sh(['gpg', '--homedir', gnupg, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  gpg('--quick-gen-key', 'boardkube test build key <test-builder@archlinuxarm.org>', 'ed25519', 'sign', 'never');
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--with-colons', '--list-secret-keys'))![1]!;
  fs.writeFileSync(path.join(keyringDir, 'archlinuxarm.gpg'), execFileSync('gpg', ['--homedir', gnupg, '--batch', '--export', fingerprint]));
  fs.writeFileSync(path.join(keyringDir, 'archlinuxarm-trusted'), `${fingerprint}:4:\n`);
  fs.writeFileSync(path.join(keyringDir, 'archlinuxarm-revoked'), '');
  for (const p of IMAGE_PACKAGES) build(p, path.join(work, 'image'), imageDir);
  const built = REPO_PACKAGES.map((p) => build(p, path.join(work, 'repo'), repoDir));
  for (const f of built) gpg('--detach-sign', '--no-armor', '-u', fingerprint, f);
  sh(['repo-add', '-q', path.join(repoDir, 'core.db.tar.gz'), ...built]);
  fs.rmSync(work, { recursive: true, force: true });
  try {
    sh(['gpgconf', '--homedir', gnupg, '--kill', 'gpg-agent']);
  } catch {
    /* no agent left */
  }
  return { repoDir, imageDir, keyringDir, fingerprint, dir };
}
