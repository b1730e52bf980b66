// The Workbench port: a folder of this computer's own under the state directory where downloads are cached and
// packages are built (real: HTTP with resume, sha256, makepkg as an ordinary user; lab: simulated downloads and
// builds that still leave small real files, so uploads to the lab's boards work the same way).
import type { FetchResult, OpOptions } from './disks.ts';
import type { ExecResult } from './host.ts';

export interface MakepkgOptions {
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  /** The ordinary user makepkg runs as when boardkube runs as root (makepkg refuses root). */
  user?: string;
  /** Target architecture (CARCH), e.g. aarch64. */
  carch: string;
}

export interface Workbench {
  /** The folder everything lives in (STATE_DIR/packages). */
  readonly dir: string;
  /** Downloads url to dest, resuming dest + ".part" with HTTP Range after a broken connection or an earlier run. */
  fetch(url: string, dest: string, opts?: OpOptions): Promise<FetchResult>;
  fetchText(url: string, signal?: AbortSignal): Promise<string>;
  /** sha256 (hex) of a file, or null when it does not exist. */
  sha256(path: string, signal?: AbortSignal): Promise<string | null>;
  readFile(path: string): Promise<Buffer | null>;
  /** Writes a file (creating its folder), atomically. */
  writeFile(path: string, content: string | Buffer, mode?: number): Promise<void>;
  /** Copies a file (a bundle's download into the cache). */
  copy(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** File names in a folder (empty when it does not exist). */
  list(dir: string): Promise<string[]>;
  freeBytes(dir: string): Promise<number>;
  /** Where makepkg is on this computer, or null (then the packages are built on the master board). */
  makepkg(): Promise<string | null>;
  /** Runs `makepkg` in dir (which holds a PKGBUILD and its local sources); packages land in dir. */
  runMakepkg(dir: string, opts: MakepkgOptions): Promise<ExecResult>;
}
