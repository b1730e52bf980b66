// The practice lab's workbench: downloads and makepkg simulated with realistic timings (scaled by the lab speed),
// behind the same Workbench port as the real one. It leaves small real files in its own folder, so checksums,
// uploads to the lab's boards and resume behave as with real files. Faults a trainer can switch on: a download that
// breaks off half-way (the next run continues it), and a download that does not match its published checksum.
import { createHash } from 'node:crypto';
import { appendFile, stat, truncate } from 'node:fs/promises';
import { artifacts, NODE_SOFTWARE, RUNTIME_NAMES, type Artifact } from '../catalog/packages.ts';
import { RELEASES } from '../catalog/versions.ts';
import { LocalWorkbench } from '../adapters/local/workbench.ts';
import { DiskError, type FetchResult, type OpOptions } from '../ports/disks.ts';
import type { ExecResult } from '../ports/host.ts';
import type { Local } from '../ports/local.ts';
import type { MakepkgOptions } from '../ports/workbench.ts';
import { sleep } from '../util/sleep.ts';

export const LAB_DOWNLOAD_FAULTS = {
  'download-cut-off': 'every download breaks off half-way (run again without the fault: it continues where it stopped)',
  'package-checksum-mismatch': 'the downloaded files do not match the checksums published beside them',
} as const;
export type LabDownloadFault = keyof typeof LAB_DOWNLOAD_FAULTS;

/** Download speed at lab speed 1 (bytes/s) and the time makepkg takes per package (ms). */
const NET_RATE = 12e6;
const MAKEPKG_MS = 4000;
const MB = 1e6;

/** Every artifact the catalogue knows, by URL and by checksum URL: what the lab's "internet" publishes. */
function published(): { byUrl: Map<string, Artifact>; byChecksum: Map<string, Artifact[]> } {
  const byUrl = new Map<string, Artifact>();
  const byChecksum = new Map<string, Artifact[]>();
  for (const r of RELEASES) {
    if (!NODE_SOFTWARE[r.minor]) continue;
    for (const rt of RUNTIME_NAMES) {
      let list: Artifact[];
      try {
        list = artifacts(r, rt);
      } catch {
        continue;
      }
      for (const a of list) {
        byUrl.set(a.url, a);
        const same = byChecksum.get(a.checksumUrl) ?? [];
        if (!same.some((x) => x.url === a.url)) byChecksum.set(a.checksumUrl, [...same, a]);
      }
    }
  }
  return { byUrl, byChecksum };
}

/** The bytes the lab serves for a URL (small: the size the progress shows is the real artifact's). */
export function labContent(url: string): Buffer {
  return Buffer.from(`practice lab download of ${url}\n`.repeat(64));
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export class LabWorkbench extends LocalWorkbench {
  readonly #faults = new Set<LabDownloadFault>();
  readonly #net = published();

  constructor(
    dir: string,
    local: Local,
    private readonly speed: () => number,
  ) {
    super(dir, local);
  }

  setFault(fault: LabDownloadFault, on: boolean): void {
    if (on) this.#faults.add(fault);
    else this.#faults.delete(fault);
  }

  #wait(ms: number, signal?: AbortSignal): Promise<void> {
    const t = ms * this.speed();
    return t > 0 ? sleep(t, signal) : Promise.resolve();
  }

  override async fetch(url: string, dest: string, opts: OpOptions = {}): Promise<FetchResult> {
    const a = this.#net.byUrl.get(url);
    if (!a) throw new DiskError('network', `cannot download ${url}: HTTP 404 (the practice lab does not publish it)`);
    const body = this.#faults.has('package-checksum-mismatch') ? Buffer.from(`damaged ${labContent(url).toString()}`) : labContent(url);
    const part = `${dest}.part`;
    const have = await stat(part).then((s) => s.size, () => 0);
    const resumedFrom = have > 0 && have < body.length ? have : 0;
    if (!resumedFrom) await this.writeFile(part, Buffer.alloc(0));
    const total = a.approxMB * MB;
    // The simulated transfer covers the artifact's real size; the small body is written in step with it.
    const steps = 10;
    const startStep = Math.floor((resumedFrom / body.length) * steps);
    const stopStep = this.#faults.has('download-cut-off') ? Math.max(startStep + 1, Math.ceil(steps / 2)) : steps;
    for (let i = startStep; i < Math.min(stopStep, steps); i++) {
      await this.#wait(total / steps / NET_RATE * 1000, opts.signal);
      const from = Math.floor((i / steps) * body.length);
      const to = Math.floor(((i + 1) / steps) * body.length);
      await appendFile(part, body.subarray(Math.max(from, resumedFrom), to));
      opts.progress?.({ done: Math.round(((i + 1) / steps) * total), total });
    }
    if (stopStep < steps) {
      const kept = await stat(part).then((s) => s.size, () => 0);
      throw new DiskError('network', `the download of ${url} broke off 6 times (connection reset by peer); ${((kept / body.length) * total / MB).toFixed(1)} MB are kept (practice lab: the "download-cut-off" fault is on)`, 'run the same command again: it resumes where it stopped');
    }
    const got = await stat(part).then((s) => s.size, () => 0);
    if (got !== body.length) await truncate(part, body.length);
    await this.copy(part, dest);
    await this.remove(part);
    return { bytes: total, resumedFrom: resumedFrom ? Math.round((resumedFrom / body.length) * total) : 0, retries: 0 };
  }

  override async fetchText(url: string, signal?: AbortSignal): Promise<string> {
    await this.#wait(150, signal);
    const list = this.#net.byChecksum.get(url);
    if (!list) throw new DiskError('missing', `cannot fetch ${url}: HTTP 404`);
    if (list[0]!.checksumFormat === 'hex') return `${sha(labContent(list[0]!.url))}\n`;
    return list.map((a) => `${sha(labContent(a.url))}  ${a.file}\n`).join('');
  }

  override async makepkg(): Promise<string | null> {
    return '/usr/bin/makepkg';
  }

  /** makepkg's checks done for real on the small files (sha256 of every source), the package written as a note. */
  override async runMakepkg(dir: string, opts: MakepkgOptions): Promise<ExecResult> {
    const text = (await this.readFile(`${dir}/PKGBUILD`))?.toString() ?? '';
    const value = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1]?.replace(/^'|'$/g, '') ?? '';
    const array = (k: string) => [...(new RegExp(`^${k}=\\((.*)\\)$`, 'm').exec(text)?.[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]!);
    const [name, ver, rel] = [value('pkgname'), value('pkgver'), value('pkgrel')];
    const out: string[] = [];
    const say = (l: string) => (out.push(l), opts.onLine?.(l));
    say(`==> Making package: ${name} ${ver}-${rel} (practice lab)`);
    say('==> Validating source files with sha256sums...');
    const sources = array('source').map((s) => s.split('::')[0]!);
    const sums = array('sha256sums');
    let failed = false;
    for (const [i, s] of sources.entries()) {
      const have = await this.sha256(`${dir}/${s}`);
      const ok = have !== null && have === sums[i];
      failed ||= !ok;
      say(`    ${s} ... ${ok ? 'Passed' : have === null ? 'NOT FOUND' : 'FAILED'}`);
    }
    await this.#wait(MAKEPKG_MS, opts.signal);
    if (failed) {
      say('==> ERROR: One or more files did not pass the validity check!');
      return { code: 1, stdout: out.join('\n'), stderr: '' };
    }
    const file = `${name}-${ver}-${rel}-${opts.carch}.pkg.tar.zst`;
    await this.writeFile(`${dir}/${file}`, `practice lab package ${name} ${ver}-${rel} (${opts.carch})\n`);
    say(`==> Finished making: ${name} ${ver}-${rel}`);
    return { code: 0, stdout: out.join('\n'), stderr: '' };
  }
}
