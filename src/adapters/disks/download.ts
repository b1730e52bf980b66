// Downloads into a cache with resume: the bytes go to DEST.part; a broken connection (or an earlier run that
// stopped) continues with an HTTP Range request from where the file ends; DEST appears only when complete.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { DiskError, type FetchResult, type OpOptions } from '../../ports/disks.ts';

export interface DownloadOptions extends OpOptions {
  /** Attempts after a broken connection before giving up. */
  maxRetries?: number;
  /** Pause between attempts (ms), multiplied by the attempt number. */
  backoffMs?: number;
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => null))?.size ?? 0;
}

export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<FetchResult> {
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  const resumedFrom = await sizeOf(part);
  const maxRetries = opts.maxRetries ?? 5;
  let retries = 0;
  let lastError = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    let have = await sizeOf(part);
    let res: Response;
    try {
      res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: opts.signal, redirect: 'follow' });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      lastError = (e as Error).message;
      if (retries++ >= maxRetries) throw new DiskError('network', `cannot download ${url}: ${lastError}`, 'check the network, or pass --image PATH with a tarball you already have');
      opts.log?.(`download: ${lastError}; trying again (${retries}/${maxRetries})`);
      await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 500) * retries));
      continue;
    }
    if (res.status === 416 && have > 0) {
      // The part file already holds everything the server has.
      await res.body?.cancel();
      await rename(part, dest);
      return { bytes: have, resumedFrom, retries };
    }
    if (res.status === 200 && have > 0) {
      opts.log?.('download: the server does not resume (no Range support); starting again');
      await truncate(part, 0);
      have = 0;
    } else if (res.status === 206) {
      const m = /bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        await res.body?.cancel();
        await truncate(part, 0);
        continue;
      }
      opts.log?.(`download: resuming at ${(have / 1e6).toFixed(1)} MB`);
    } else if (res.status !== 200) {
      await res.body?.cancel();
      throw new DiskError('network', `cannot download ${url}: HTTP ${res.status} ${res.statusText}`, res.status === 404 ? 'check the URL (--image) or the board profile' : 'try again later');
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(length) ? have + length : 0;
    let done = have;
    let last = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        const now = Date.now();
        if (opts.progress && now - last > 250) {
          last = now;
          opts.progress({ done, total });
        }
        cb(null, chunk);
      },
    });
    try {
      if (!res.body) throw new Error('empty response');
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), meter, createWriteStream(part, { flags: 'a' }), { signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      lastError = (e as Error).message;
      if (retries++ >= maxRetries) throw new DiskError('network', `the download of ${url} broke off ${maxRetries + 1} times (${lastError}); ${((await sizeOf(part)) / 1e6).toFixed(1)} MB are kept`, 'run the same command again: it resumes where it stopped');
      opts.log?.(`download: connection lost at ${(done / 1e6).toFixed(1)} MB (${lastError}); resuming (${retries}/${maxRetries})`);
      await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 500) * retries));
      continue;
    }
    const got = await sizeOf(part);
    if (total && got !== total) {
      if (retries++ >= maxRetries) throw new DiskError('network', `the download of ${url} ended early (${got} of ${total} bytes)`, 'run the same command again: it resumes');
      continue;
    }
    opts.progress?.({ done: got, total: got });
    await rename(part, dest);
    return { bytes: got, resumedFrom, retries };
  }
}

export async function fetchText(url: string, signal?: AbortSignal): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    throw new DiskError('network', `cannot fetch ${url}: ${(e as Error).message}`, 'check the network');
  }
  if (!res.ok) throw new DiskError(res.status === 404 ? 'missing' : 'network', `cannot fetch ${url}: HTTP ${res.status}`);
  return await res.text();
}
