// Building on the master board, for a computer without makepkg (makepkg ships with pacman on Arch Linux ARM, so
// every board has it): the PKGBUILD, its files and the downloads go to the master, makepkg runs there as an
// ordinary user (alarm unless build-user says otherwise), and the package comes back into this computer's build
// folder, from where the upload step sends it to every board as usual.
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import type { StepContext } from '../../src/engine/types.ts';
import type { ExecResult } from '../../src/ports/host.ts';
import { q } from '../configure/scripts.ts';
import type { Build } from './components.ts';
import { buildDir, downloadDir, setName } from './options.ts';
import { packageFile, PKG_ARCH, renderPkgbuild, type PackageSpec } from './pkgbuild.ts';

/** Where the master builds (not /tmp: on Arch a tmpfs, in memory). */
export const MASTER_BUILD_DIR = '/var/tmp/boardkube-build';
/** The ordinary user of a fresh Arch Linux ARM image. */
export const MASTER_BUILD_USER = 'alarm';

/** Hands the folder to the build user and runs makepkg as that user (makepkg refuses root). Sent with sudo. */
export function masterMakepkgScript(dir: string, user: string): string {
  return `set -e
chown -R ${q(user)} ${q(dir)}
runuser -u ${q(user)} -- sh -c 'cd "$1" && CARCH=${PKG_ARCH} PKGEXT=.pkg.tar.zst makepkg --nodeps --force --noconfirm --noprogressbar' sh ${q(dir)}`;
}

export async function buildOnMaster(ctx: StepContext, build: Build, p: PackageSpec, user: string | undefined, onLine: (l: string) => void): Promise<ExecResult> {
  const master = controlPlaneNode(ctx.cluster);
  const host = ctx.ports.host(master);
  const remote = `${MASTER_BUILD_DIR}/${setName(ctx)}/${p.name}`;
  const mk = await host.exec(`mkdir -p ${q(remote)}`, { sudo: true, signal: ctx.signal });
  if (mk.code !== 0) return mk;
  await host.writeFile(`${remote}/PKGBUILD`, renderPkgbuild(p), { sudo: true, signal: ctx.signal });
  for (const [name, text] of Object.entries(build.localFiles[p.name] ?? {})) await host.writeFile(`${remote}/${name}`, text, { sudo: true, signal: ctx.signal });
  for (const s of p.sources.filter((x) => x.url)) await host.upload(`${downloadDir(ctx)}/${s.name}`, `${remote}/${s.name}`, { mode: 0o644, sudo: true, signal: ctx.signal });
  onLine(`$ makepkg on ${master.name} in ${remote}`);
  const r = await host.exec(masterMakepkgScript(remote, user ?? MASTER_BUILD_USER), { sudo: true, signal: ctx.signal, onStdout: onLine, onStderr: onLine, timeoutMs: 30 * 60_000 });
  if (r.code === 0) await host.download(`${remote}/${packageFile(p)}`, `${buildDir(ctx, p.name)}/${packageFile(p)}`, { signal: ctx.signal });
  return r;
}
