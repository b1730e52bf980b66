// Step upload: the built packages onto every board over SFTP, all boards at once (the engine runs this step on
// every board in parallel). A board without room for them is refused before anything is copied; a file already
// on the board with the same sha256 is not sent again, so a cut connection costs only the file it cut.
import type { PlannedAction, Step, StepContext } from '../../src/engine/types.ts';
import { boardOf, probe, runScript } from '../configure/common.ts';
import { parseKeyValues, q } from '../configure/scripts.ts';
import { builtPackages, type BuiltPackage } from './build.ts';
import { currentBuild, BOARD_PACKAGE_DIR, installedByHand, packagesOptions } from './options.ts';
import { packageFile } from './pkgbuild.ts';
import { uploadedProbe } from './scripts.ts';

/** Room on the board beyond the packages themselves: pacman unpacks them (about twice their size) and keeps its cache. */
const HEADROOM_MIB = 1024;

/** Free space under /var/cache (where the packages wait) in KiB. */
export const SPACE_PROBE = "df -Pk /var/cache | awk 'NR == 2 { print \"cache_free_kib=\" $4 }'";

async function packagesOrFail(ctx: StepContext): Promise<BuiltPackage[]> {
  const built = await builtPackages(ctx);
  if (!built) throw new Error('the packages are not built on this computer (the build step has not run)');
  return built;
}

/** sha256 of each package already on the board. */
async function onBoard(ctx: StepContext, files: string[]): Promise<Map<string, string>> {
  const { host } = boardOf(ctx);
  const out = await probe(host, uploadedProbe(BOARD_PACKAGE_DIR, files), ctx.signal);
  return new Map(
    out
      .split('\n')
      .map((l) => /^([0-9a-f]{64})\s+(\S+)$/.exec(l.trim()))
      .filter((m) => m !== null)
      .map((m) => [m[2]!, m[1]!]),
  );
}

export const uploadStep: Step = {
  id: 'upload',
  title: 'Copy the packages onto every board',
  explain: 'Sends the packages to each board over SFTP, all boards at the same time, into /var/cache/boardkube/packages. Files already there (same sha256) are not sent again.',
  nodes: (c) => c.nodes,
  skip: (ctx) => (packagesOptions(ctx).source.kind === 'arch' ? 'source=arch: pacman downloads the packages on each board' : installedByHand(ctx)),
  async needs(ctx) {
    const { host, node } = boardOf(ctx);
    const build = await currentBuild(ctx);
    const needMiB = Math.round(build.artifacts.reduce((n, a) => n + a.approxMB, 0) * 3) + HEADROOM_MIB;
    const freeMiB = Math.floor(Number(parseKeyValues(await probe(host, SPACE_PROBE, ctx.signal)).cache_free_kib ?? 0) / 1024);
    return [{ ok: freeMiB >= needMiB, what: `room on ${node.name} for the packages (${needMiB} MiB under /var/cache, ${freeMiB} MiB free)`, fix: `make room on ${node.name}: \`pacman -Scc\` empties pacman's cache, or use a bigger card` }];
  },
  async plan(ctx) {
    const build = await currentBuild(ctx);
    const actions: PlannedAction[] = [{ type: 'command', description: `make ${BOARD_PACKAGE_DIR}`, content: `mkdir -p ${q(BOARD_PACKAGE_DIR)}`, sudo: true }];
    const built = await builtPackages(ctx).catch(() => null);
    for (const p of build.packages) {
      const b = built?.find((x) => x.name === p.name);
      const file = b?.file ?? packageFile(p);
      actions.push({ type: 'file', path: `${BOARD_PACKAGE_DIR}/${file}`, description: `upload ${file} over SFTP${b ? ` (sha256 ${b.sha256})` : ''}`, sudo: true });
    }
    return actions;
  },
  async run(ctx) {
    const { host } = boardOf(ctx);
    const built = await packagesOrFail(ctx);
    await runScript(ctx, host, `make ${BOARD_PACKAGE_DIR}`, `mkdir -p ${q(BOARD_PACKAGE_DIR)}`, { sudo: true });
    const there = await onBoard(ctx, built.map((b) => b.file));
    let sent = 0;
    for (const b of built) {
      ctx.signal.throwIfAborted();
      if (there.get(b.file) === b.sha256) {
        ctx.log(`${b.file} is on the board already`);
        continue;
      }
      ctx.progress({ done: sent, total: built.length, unit: 'packages', message: `sending ${b.file}` });
      await host.upload(b.path, `${BOARD_PACKAGE_DIR}/${b.file}`, { mode: 0o644, sudo: true, signal: ctx.signal });
      sent++;
    }
    ctx.progress({ done: built.length, total: built.length, unit: 'packages', message: `${sent} sent, ${built.length - sent} there already` });
    return { sent, files: built.map((b) => b.file) };
  },
  async verify(ctx) {
    const built = await builtPackages(ctx);
    if (!built) return false;
    const there = await onBoard(ctx, built.map((b) => b.file));
    return built.every((b) => there.get(b.file) === b.sha256);
  },
};
