// Step fetch-image: the board's Arch Linux ARM tarball in the cache (or the --image given), its md5 and signature
// checked, and a look inside that it is a root filesystem for this board and which bootloader it carries.
import { basename, join } from 'node:path';
import type { BoardProfile } from '../../src/boards/types.ts';
import { InputError, type Outputs, type PlannedAction, type Step, type StepContext } from '../../src/engine/types.ts';
import { DiskError, type TarballFacts } from '../../src/ports/disks.ts';
import { ALARM_SIGNING_KEY, expectedImage, imageCacheDir, type BootloaderKind } from './card.ts';
import { averageRate, fetchedImage, rememberImage, reportBytes } from './common.ts';
import { flashOptions, isUrl } from './options.ts';
import { formatBytes } from './select.ts';

function md5Of(text: string): string | null {
  const m = /^\s*([0-9a-fA-F]{32})\b/.exec(text);
  return m ? m[1]!.toLowerCase() : null;
}

/** What an earlier run found in the tarball, kept beside it: a tarball not changed since is not read again. */
interface Sidecar {
  size: number;
  mtimeMs: number;
  facts: TarballFacts;
}

function sidecarPath(tarball: string, local: boolean): string {
  if (!local) return `${tarball}.boardkube.json`;
  return join(imageCacheDir(), `${basename(tarball)}-${Buffer.from(tarball).toString('base64url').slice(-24)}.boardkube.json`);
}

/** Where the tarball comes from, where it lies on this computer, and where its .md5 and .sig are. */
function imageSource(ctx: StepContext) {
  const o = flashOptions(ctx);
  const src = o.image ?? ctx.board.tarball.url;
  const remote = isUrl(src);
  const official = src === ctx.board.tarball.url;
  return {
    src,
    remote,
    img: expectedImage(ctx.board, o.image),
    md5Url: remote && official ? ctx.board.tarball.md5Url : `${src}.md5`,
    sigUrl: remote ? (official ? ctx.board.tarball.sigUrl : `${src}.sig`) : undefined,
  };
}

/** Does the tarball belong to this board? Returns the problems (empty: yes) and the bootloader it carries. */
export function checkTarball(facts: TarballFacts, profile: BoardProfile): { problems: string[]; bootloader: BootloaderKind; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const has = (p: string) => (p.endsWith('/') ? facts.bootFiles.some((f) => f.startsWith(p) && f !== p) : facts.bootFiles.includes(p));
  for (const anyOf of profile.tarballMustHave ?? []) {
    if (!anyOf.some(has)) problems.push(`it has no ${anyOf.map((p) => `/${p}`).join(' or ')}`);
  }
  if (!facts.elf) problems.push('it holds no program under /usr/bin to tell its CPU architecture (not a root filesystem?)');
  else if (facts.elf.machine !== 183 || facts.elf.class !== 64) {
    const names: Record<number, string> = { 3: 'x86 (32-bit)', 40: 'ARM 32-bit', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V' };
    problems.push(`its programs are built for ${names[facts.elf.machine] ?? `ELF machine ${facts.elf.machine}`} (/${facts.elf.path}), the ${profile.name} needs AArch64`);
  }
  const mainline = profile.bootloader.writes.map((w) => w.file.replace(/^\//, ''));
  const legacy = profile.bootloader.legacy ? [profile.bootloader.legacy.file.replace(/^\//, '')] : [];
  let bootloader: BootloaderKind = 'none';
  if (mainline.length && mainline.every(has)) bootloader = 'mainline';
  else if (legacy.length && legacy.every(has)) bootloader = 'legacy';
  else if (profile.bootloader.writes.length) problems.push(`it carries no bootloader for the ${profile.name} (${[...new Set([...mainline, ...legacy])].map((p) => `/${p}`).join(' or ')})`);
  if (bootloader === 'mainline' && facts.kernelVersions.length && facts.kernelVersions.every((v) => /^[1-4]\./.test(v))) {
    warnings.push(`the tarball's only kernel is ${facts.kernelVersions.join(', ')} (vendor): mainline U-Boot cannot start it, and current Kubernetes needs ${profile.kernelPackage}. boot.scr is written for ${profile.kernelPackage}; install it on the card before the first boot, or use a tarball that carries it.`);
  }
  return { problems, bootloader, warnings };
}

export const fetchImageStep: Step = {
  id: 'fetch-image',
  title: 'Get the Arch Linux ARM image',
  explain: 'Downloads the board\'s root filesystem tarball once into a cache (resuming a broken download) and checks it against the .md5 Arch Linux ARM publishes beside it, so a damaged download never reaches a card.',
  async needs(ctx) {
    const o = flashOptions(ctx);
    const img = expectedImage(ctx.board, o.image);
    if (o.image && !isUrl(o.image)) return [];
    const cached = await ctx.ports.disks.stat(img.tarball);
    const free = await ctx.ports.disks.freeBytes(imageCacheDir()).catch(() => 0);
    const need = cached ? 0 : 1.5 * 1024 ** 3;
    return [{ ok: free >= need, what: `room for the download in ${imageCacheDir()} (${formatBytes(need)}, ${formatBytes(free)} free)`, fix: 'free some space, or set BOARDKUBE_CACHE_DIR to a folder with room, or pass --image PATH with a tarball you already have' }];
  },
  plan(ctx) {
    const { src, remote, img, md5Url } = imageSource(ctx);
    const actions: PlannedAction[] = [];
    if (remote) {
      actions.push({ type: 'local', path: img.tarball, description: `download ${src} into the cache (continues a broken download where it stopped)`, content: `curl -fL -C - -o ${img.tarball}.part ${src} && mv ${img.tarball}.part ${img.tarball}` });
    }
    actions.push({ type: 'local', path: img.tarball, description: `check the tarball against ${md5Url} and that it is an AArch64 root filesystem for the ${ctx.board.name}`, content: `test "$(md5sum < ${img.tarball} | cut -d' ' -f1)" = "$(cut -d' ' -f1 ${isUrl(md5Url) ? `<(curl -fsL ${md5Url})` : md5Url})"` });
    return actions;
  },
  async run(ctx) {
    const disks = ctx.ports.disks;
    const { src, remote, img, md5Url, sigUrl } = imageSource(ctx);
    let expected: string | null;
    if (remote) {
      expected = md5Of(await disks.fetchText(md5Url, ctx.signal));
      if (!expected) throw new DiskError('io', `${md5Url} holds no md5 sum`);
    } else {
      const text = await disks.readFile(md5Url);
      if (!text) throw new InputError('--image', `there is no ${basename(md5Url)} beside ${src}`, `download it too (Arch Linux ARM publishes ${basename(src)}.md5 beside every tarball) and put it next to the tarball`);
      expected = md5Of(text.toString());
      if (!expected) throw new InputError('--image', `${md5Url} holds no md5 sum`, 'download the .md5 again');
    }
    const sideFile = sidecarPath(img.tarball, !remote);
    const readSidecar = async (): Promise<Sidecar | null> => {
      const b = await disks.readFile(sideFile);
      try {
        return b ? (JSON.parse(b.toString()) as Sidecar) : null;
      } catch {
        return null;
      }
    };
    let st = await disks.stat(img.tarball);
    let side = await readSidecar();
    let facts: TarballFacts | null = st && side && side.size === st.size && side.mtimeMs === st.mtimeMs && side.facts.md5 === expected ? side.facts : null;
    if (facts) ctx.log(`using the cached ${basename(img.tarball)} (md5 ${expected} checked before)`);
    if (!facts && remote) {
      if (st && side && side.size === st.size && side.mtimeMs === st.mtimeMs && side.facts.md5 !== expected) {
        ctx.log(`the cached ${basename(img.tarball)} is an older build (md5 ${side.facts.md5}, now ${expected}): downloading the new one`);
        await disks.discard(img.tarball);
        st = null;
      }
      if (!st) {
        ctx.log(`downloading ${src}`);
        const started = Date.now();
        const r = await disks.fetch(src, img.tarball, {
          signal: ctx.signal,
          log: ctx.log,
          progress: (p) => reportBytes(ctx, p, averageRate(p.done, started)),
        });
        ctx.log(`downloaded ${formatBytes(r.bytes)}${r.resumedFrom ? ` (continued at ${formatBytes(r.resumedFrom)})` : ''}${r.retries ? `, resumed ${r.retries} time(s) after a broken connection` : ''}`);
      }
    }
    if (!facts) {
      ctx.log('checking the md5 sum and looking inside the tarball');
      facts = await disks.inspectTarball(img.tarball, { signal: ctx.signal, progress: (p) => reportBytes(ctx, p, undefined, 'checking: ') });
      if (facts.md5 !== expected) {
        if (remote) await disks.discard(img.tarball);
        const msg = `checksum mismatch: ${basename(img.tarball)} has md5 ${facts.md5}, ${md5Url} says ${expected}`;
        if (remote) throw new DiskError('io', `${msg}; the download is damaged and was deleted`, 'run the same command again to download it anew');
        throw new InputError('--image', `${msg}: the file is damaged or not the one the .md5 belongs to`, 'download the tarball and its .md5 again');
      }
      if (facts.damaged) {
        throw new InputError('--image', `${basename(img.tarball)} matches its .md5 but cannot be read: ${facts.damaged}`, `use ${ctx.board.tarball.url}`);
      }
      st = await disks.stat(img.tarball);
      if (st) {
        await disks.writeLocalFile(sideFile, JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, facts } satisfies Sidecar)).catch((e: Error) => ctx.log(`could not remember the check in ${sideFile}: ${e.message} (the next run checks again)`));
      }
    }
    ctx.log(`md5 ${facts.md5} matches ${md5Url}`);
    if (sigUrl) {
      const sig = await disks.verifySignature(img.tarball, sigUrl, ALARM_SIGNING_KEY, ctx.signal);
      if (sig.status === 'bad') throw new DiskError('io', `the signature of ${basename(img.tarball)} is BAD: ${sig.detail}`, 'do not use this tarball; download it again from another mirror');
      ctx.log(sig.status === 'good' ? `signature good (${ALARM_SIGNING_KEY})` : `signature NOT checked: ${sig.detail}. The md5 only proves the download is complete, not who made it (fix: gpg --recv-keys ${ALARM_SIGNING_KEY})`);
    } else {
      ctx.log('signature NOT checked: a local --image has no signature to check; the md5 only proves the file is complete');
    }
    const verdict = checkTarball(facts, ctx.board);
    if (verdict.problems.length) {
      throw new InputError('--image', `${basename(img.tarball)} is not an Arch Linux ARM tarball for the ${ctx.board.name}: ${verdict.problems.join('; ')}`, `use ${ctx.board.tarball.url}`);
    }
    for (const w of verdict.warnings) ctx.log(`WARNING: ${w}`);
    if (verdict.bootloader === 'legacy') ctx.log(ctx.board.bootloader.legacy?.note ?? 'older bootloader found');
    ctx.log(`${facts.entries} entries, ${formatBytes(facts.uncompressedBytes)} unpacked, kernel ${facts.kernelVersions.join(', ') || 'unknown'}, bootloader: ${verdict.bootloader}`);
    const out: Outputs = { tarball: img.tarball, source: src, md5: facts.md5, bytes: facts.compressedBytes, uncompressedBytes: facts.uncompressedBytes, bootloader: verdict.bootloader, kernelVersions: facts.kernelVersions };
    rememberImage(ctx, out);
    return out;
  },
  async verify(ctx) {
    const out = fetchedImage(ctx);
    if (!out || typeof out.tarball !== 'string') return false;
    const st = await ctx.ports.disks.stat(out.tarball);
    return st !== null && st.size === out.bytes;
  },
};
