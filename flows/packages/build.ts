// Step build: one pacman package per component, made by the real makepkg on this computer from the downloads
// and the PKGBUILD generated for it. makepkg checks every source against the PKGBUILD's sha256 again, so a file
// changed between download and build is refused here too.
import type { Outputs, PlannedAction, Step, StepContext } from '../../src/engine/types.ts';
import { controlPlaneNode } from '../../src/cluster/spec.ts';
import { q } from '../configure/scripts.ts';
import { buildOnMaster, MASTER_BUILD_DIR, MASTER_BUILD_USER, masterMakepkgScript } from './build-on-master.ts';
import type { Build } from './components.ts';
import { buildDir, currentBuild, downloadDir, installedByHand, packagesOptions, setName, workbenchOf } from './options.ts';
import { packageFile, PKG_ARCH, renderPkgbuild, type PackageSpec } from './pkgbuild.ts';

export const MAKEPKG_COMMAND = `CARCH=${PKG_ARCH} PKGEXT=.pkg.tar.zst makepkg --nodeps --force --noconfirm --noprogressbar`;

export interface BuiltPackage {
  name: string;
  version: string;
  file: string;
  path: string;
  sha256: string;
}

/** sha256 of the package files this process built or hashed (hashing 300 MB once per board would be waste). */
const hashed = new Map<string, string>();

/** The packages in the build folders (null when one is missing): their files, paths and sha256. */
export async function builtPackages(ctx: StepContext): Promise<BuiltPackage[] | null> {
  const wb = workbenchOf(ctx);
  const build = await currentBuild(ctx);
  const out: BuiltPackage[] = [];
  for (const p of build.packages) {
    const path = `${buildDir(ctx, p.name)}/${packageFile(p)}`;
    const sha = hashed.get(path) ?? (await wb.sha256(path, ctx.signal));
    if (!sha) return null;
    hashed.set(path, sha);
    out.push({ name: p.name, version: `${p.version}-${p.rel}`, file: packageFile(p), path, sha256: sha });
  }
  return out;
}

function upstreamFiles(p: PackageSpec): string[] {
  return p.sources.filter((s) => s.url).map((s) => s.name);
}

function planPackage(ctx: StepContext, build: Build, p: PackageSpec, here: boolean): PlannedAction[] {
  const dir = buildDir(ctx, p.name);
  const actions: PlannedAction[] = [{ type: 'file', path: `${dir}/PKGBUILD`, description: `PKGBUILD of ${p.name} ${p.version}-${p.rel} (${p.origin})`, content: renderPkgbuild(p), mode: 0o644 }];
  for (const [name, text] of Object.entries(build.localFiles[p.name] ?? {})) {
    actions.push({ type: 'file', path: `${dir}/${name}`, description: `${name} for the ${p.name} package`, content: text, mode: 0o644 });
  }
  if (!here) {
    const master = controlPlaneNode(ctx.cluster);
    const remote = `${MASTER_BUILD_DIR}/${setName(ctx)}/${p.name}`;
    actions.push({ type: 'command', description: `makepkg is not on this computer: send these files and the downloads to ${master.name}, build ${packageFile(p)} there as ${packagesOptions(ctx).buildUser ?? MASTER_BUILD_USER} and fetch it back`, content: masterMakepkgScript(remote, packagesOptions(ctx).buildUser ?? MASTER_BUILD_USER), sudo: true });
    return actions;
  }
  const copies = upstreamFiles(p).map((f) => `cp ${q(`${downloadDir(ctx)}/${f}`)} ${q(`${dir}/${f}`)}`);
  actions.push({ type: 'local', path: `${dir}/${packageFile(p)}`, description: `build ${packageFile(p)} with makepkg (as an ordinary user: makepkg refuses root)`, content: [...copies, `cd ${q(dir)} && ${MAKEPKG_COMMAND}`].join('\n') });
  return actions;
}

export const buildStep: Step = {
  id: 'build',
  title: 'Build the pacman packages',
  explain:
    'Wraps each component in a pacman package at the pinned version (makepkg, arch aarch64), with the units and configuration files as pacman backup files. pacman then owns every file on the boards, and `pacman -Qi` shows the pin.',
  skip: (ctx) => (packagesOptions(ctx).source.kind === 'arch' ? 'source=arch: the distribution\'s packages are installed as they are' : installedByHand(ctx)),
  async plan(ctx) {
    const build = await currentBuild(ctx);
    const here = (await workbenchOf(ctx).makepkg()) !== null;
    return build.packages.flatMap((p) => planPackage(ctx, build, p, here));
  },
  async run(ctx) {
    const wb = workbenchOf(ctx);
    const build = await currentBuild(ctx);
    const user = packagesOptions(ctx).buildUser;
    // Without makepkg here, the master builds (makepkg comes with pacman on Arch Linux ARM).
    const here = (await wb.makepkg()) !== null;
    if (!here) ctx.log(`makepkg is not on this computer: building on ${controlPlaneNode(ctx.cluster).name} (install makepkg here to build locally)`);
    const built: BuiltPackage[] = [];
    for (const p of build.packages) {
      ctx.signal.throwIfAborted();
      const dir = buildDir(ctx, p.name);
      await wb.writeFile(`${dir}/PKGBUILD`, renderPkgbuild(p));
      for (const [name, text] of Object.entries(build.localFiles[p.name] ?? {})) await wb.writeFile(`${dir}/${name}`, text);
      for (const f of upstreamFiles(p)) await wb.copy(`${downloadDir(ctx)}/${f}`, `${dir}/${f}`);
      ctx.log(`$ cd ${dir} && ${MAKEPKG_COMMAND}`);
      ctx.progress({ done: built.length, total: build.packages.length, unit: 'packages', message: `building ${p.name} ${p.version}` });
      const lines: string[] = [];
      const onLine = (l: string) => (lines.push(l), ctx.log(l));
      const r = here ? await wb.runMakepkg(dir, { carch: PKG_ARCH, user: user ?? process.env.SUDO_USER, signal: ctx.signal, onLine }) : await buildOnMaster(ctx, build, p, user, onLine);
      const file = packageFile(p);
      hashed.delete(`${dir}/${file}`);
      const sha = await wb.sha256(`${dir}/${file}`, ctx.signal);
      if (r.code !== 0 || !sha) {
        const why = lines.filter((l) => /ERROR|FAILED|error/.test(l)).slice(-3).join('; ') || (r.stderr || r.stdout).trim().split('\n').slice(-3).join('; ');
        throw new Error(`makepkg could not build ${p.name} (exit ${r.code}): ${why}`);
      }
      hashed.set(`${dir}/${file}`, sha);
      built.push({ name: p.name, version: `${p.version}-${p.rel}`, file, path: `${dir}/${file}`, sha256: sha });
      ctx.log(`built ${file} (sha256 ${sha})`);
    }
    ctx.progress({ done: built.length, total: build.packages.length, unit: 'packages', message: 'all packages built' });
    return { packages: built as unknown as Outputs[string] };
  },
  async verify(ctx) {
    return (await builtPackages(ctx)) !== null;
  },
};
