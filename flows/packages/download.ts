// Step download: every upstream file once onto this computer (resuming a broken download), each checked against
// the checksum its publisher puts beside it before anything else happens: a damaged or forged download is refused
// before any board is touched. With source=bundle=DIR the files come from that folder instead (no network).
import { parseChecksum, type Artifact } from '../../src/catalog/packages.ts';
import { InputError, type Step, type StepContext } from '../../src/engine/types.ts';
import { averageRate, reportBytes } from '../flash/common.ts';
import { q } from '../configure/scripts.ts';
import { currentBuild, downloadDir, installedByHand, packagesOptions, workbenchOf } from './options.ts';

const MB = 1024 * 1024;

/** The checksum boardkube keeps beside each download ("HEX  FILE", as sha256sum -c reads it). */
export const checksumFile = (dir: string, a: Artifact) => `${dir}/${a.file}.sha256`;

function noNetworkFix(): string {
  return 'check the network; without internet use source=bundle=DIR with a folder downloaded earlier on a computer that has it (STATE_DIR/packages/downloads/...)';
}

/** The publisher's sha256 of an artifact: the catalogue's, or the checksum file fetched (upstream) or kept (bundle). */
async function expectedSha(ctx: StepContext, a: Artifact): Promise<string> {
  const wb = workbenchOf(ctx);
  const dir = downloadDir(ctx);
  const kept = await wb.readFile(checksumFile(dir, a));
  const keptSha = kept ? parseChecksum(kept.toString(), 'sha256sum', a.file) : null;
  if (packagesOptions(ctx).source.kind === 'bundle') {
    const sha = keptSha ?? a.sha256;
    if (!sha) throw new InputError('--set source', `the bundle ${dir} has no ${a.file}.sha256`, 'make the bundle with a run that downloaded (it keeps each checksum beside its file), or put the published checksum there');
    return sha;
  }
  let published: string | null;
  try {
    published = parseChecksum(await wb.fetchText(a.checksumUrl, ctx.signal), a.checksumFormat, a.file);
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    if (keptSha) {
      ctx.log(`cannot fetch ${a.checksumUrl} (${(e as Error).message.split('\n')[0]}): using the checksum fetched before`);
      return keptSha;
    }
    throw new Error(`cannot fetch the checksum ${a.checksumUrl}: ${(e as Error).message.split('\n')[0]}\n  fix: ${noNetworkFix()}`);
  }
  if (!published) throw new Error(`${a.checksumUrl} holds no sha256 for ${a.file}`);
  if (a.sha256 && a.sha256 !== published) {
    throw new Error(`${a.checksumUrl} says ${published}, but the catalogue pins ${a.sha256} for ${a.file}: refusing both (the release was changed after it was published, or the download is being tampered with)`);
  }
  await wb.writeFile(checksumFile(dir, a), `${published}  ${a.file}\n`);
  return published;
}

async function fetchArtifact(ctx: StepContext, a: Artifact, expected: string): Promise<'cached' | 'downloaded'> {
  const wb = workbenchOf(ctx);
  const dest = `${downloadDir(ctx)}/${a.file}`;
  if ((await wb.sha256(dest, ctx.signal)) === expected) return 'cached';
  const bundle = packagesOptions(ctx).source.kind === 'bundle';
  if (bundle) {
    const have = await wb.sha256(dest, ctx.signal);
    throw new InputError('--set source', have === null ? `the bundle ${downloadDir(ctx)} has no ${a.file}` : `checksum mismatch: ${a.file} in the bundle has sha256 ${have}, its checksum file says ${expected}`, 'copy the bundle again from the computer that downloaded it');
  }
  ctx.log(`downloading ${a.url}`);
  const started = Date.now();
  try {
    const r = await wb.fetch(a.url, dest, { signal: ctx.signal, log: ctx.log, progress: (p) => reportBytes(ctx, p, averageRate(p.done, started), `${a.id}: `) });
    if (r.resumedFrom) ctx.log(`${a.file}: continued at ${(r.resumedFrom / MB).toFixed(1)} MiB`);
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    throw new Error(`${(e as Error).message.split('\n')[0]}\n  fix: ${/broke off|ended early/.test((e as Error).message) ? 'run the same command again: it resumes where it stopped' : noNetworkFix()}`);
  }
  const got = await wb.sha256(dest, ctx.signal);
  if (got !== expected) {
    await wb.remove(dest);
    throw new Error(`checksum mismatch: ${a.file} has sha256 ${got}, ${a.checksumUrl} says ${expected}. The download was deleted and no board was touched.\n  fix: run the same command again to download it anew; if it happens again, the mirror or the network is broken`);
  }
  return 'downloaded';
}

export const downloadStep: Step = {
  id: 'download',
  title: 'Download Kubernetes and the container runtime',
  explain:
    'Fetches kubeadm, kubelet and kubectl from dl.k8s.io and the container runtime and crictl from their releases, once, onto this computer. Each file is checked against the sha256 its publisher puts beside it; a download that does not match never reaches a board.',
  skip: (ctx) => (packagesOptions(ctx).source.kind === 'arch' ? 'source=arch: the packages come from the distribution\'s repository' : installedByHand(ctx)),
  async needs(ctx) {
    const wb = workbenchOf(ctx);
    if (packagesOptions(ctx).source.kind === 'bundle') return [];
    const build = await currentBuild(ctx);
    const need = build.artifacts.reduce((n, a) => n + a.approxMB, 0) * 2 * MB;
    const free = await wb.freeBytes(wb.dir).catch(() => 0);
    return [{ ok: free >= need, what: `room for the downloads and the packages in ${wb.dir} (${Math.round(need / MB)} MiB, ${Math.round(free / MB)} MiB free)`, fix: 'free some space, or point --state-dir at a disk with room' }];
  },
  async plan(ctx) {
    const dir = downloadDir(ctx);
    const bundle = packagesOptions(ctx).source.kind === 'bundle';
    return (await currentBuild(ctx)).artifacts.map((a) => {
      const file = `${dir}/${a.file}`;
      const check = `cd ${q(dir)} && sha256sum -c ${q(`${a.file}.sha256`)}`;
      if (bundle) return { type: 'local' as const, path: file, description: `check ${a.file} of the bundle against its kept checksum`, content: check };
      const sum = a.sha256 ? `printf '%s  %s\\n' ${a.sha256} ${q(a.file)} > ${q(`${file}.sha256`)}` : `printf '%s  %s\\n' "$(curl -fsSL ${q(a.checksumUrl)} | cut -d' ' -f1)" ${q(a.file)} > ${q(`${file}.sha256`)}`;
      return {
        type: 'local' as const,
        path: file,
        description: `download ${a.url} (~${a.approxMB} MB, continues a broken download) and check it against ${a.sha256 ? 'the sha256 the catalogue pins' : a.checksumUrl}`,
        content: `mkdir -p ${q(dir)}\n${sum}\ncurl -fL -C - -o ${q(`${file}.part`)} ${q(a.url)} && mv ${q(`${file}.part`)} ${q(file)}\n${check}`,
      };
    });
  },
  async run(ctx) {
    const build = await currentBuild(ctx);
    const sums: Record<string, string> = {};
    for (const a of build.artifacts) {
      ctx.signal.throwIfAborted();
      const expected = await expectedSha(ctx, a);
      const how = await fetchArtifact(ctx, a, expected);
      sums[a.id] = expected;
      ctx.log(`${a.file}: sha256 ${expected} matches ${packagesOptions(ctx).source.kind === 'bundle' ? 'the bundle\'s checksum file' : a.checksumUrl}${how === 'cached' ? ' (already downloaded)' : ''}`);
    }
    // cosign signatures (.sig/.cert) need cosign and the signer's identity: not checked yet, and said so.
    const cosign = (await ctx.ports.local.tool('cosign')).path;
    ctx.log(`signatures NOT checked${cosign ? ' (boardkube does not verify cosign signatures yet)' : ' (cosign is not installed)'}: the sha256 proves each file is the one published, not who published it`);
    return { dir: downloadDir(ctx), sha256: sums };
  },
  async verify(ctx) {
    const wb = workbenchOf(ctx);
    const dir = downloadDir(ctx);
    const build = await currentBuild(ctx);
    for (const a of build.artifacts) {
      const kept = await wb.readFile(checksumFile(dir, a));
      const want = kept ? parseChecksum(kept.toString(), 'sha256sum', a.file) : null;
      if (!want || (await wb.sha256(`${dir}/${a.file}`, ctx.signal)) !== want) return false;
    }
    return true;
  },
};
