// Shared by the end-to-end tests: how to start boardkube as a user does, and a tmux driver (a real terminal).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { afterEach } from 'vitest';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StepRecord } from '../../src/engine/types.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: string[] | undefined;

/** The newest modification time of the code that goes into the bundle. */
function newestSourceMs(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['src', 'screens', 'flows']) walk(join(ROOT, d));
  return Math.max(newest, statSync(join(ROOT, 'package-lock.json')).mtimeMs);
}

/**
 * The command that starts boardkube as a user does: the built bundle, bin/boardkube.js. It is built first when
 * missing or older than the sources (one build at a time); a bundle that does not start fails the test, never
 * falls back to the sources (bundling bugs live only in the bundle).
 */
export function boardkubeCommand(): string[] {
  if (cached) return cached;
  const bin = join(ROOT, 'bin', 'boardkube.js');
  if (!existsSync(bin) || statSync(bin).mtimeMs < newestSourceMs()) {
    const lock = join(tmpdir(), `boardkube-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);
    execFileSync('flock', [lock, 'npm', 'run', 'build'], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
  }
  const r = spawnSync(process.execPath, [bin, '--version'], { timeout: 20_000, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the built bin/boardkube.js does not start (exit ${r.status}): ${r.stderr}`);
  cached = [process.execPath, bin];
  return cached;
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface SavedState {
  steps: Record<string, StepRecord>;
  hostKeys: Record<string, { fingerprint: string }>;
}

export function readState(path: string): SavedState {
  return JSON.parse(readFileSync(path, 'utf8')) as SavedState;
}

export async function until<T>(probe: () => T | undefined | false | null, what: string, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One tmux server on its own socket, one window: a real terminal for the whole program. */
export class Tmux {
  readonly socket = `bk-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly target = 'bk:0.0';

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** Starts `argv` (with `env`, in `cwd`) in a detached session of the given size; the pane stays when it exits. */
  start(argv: string[], env: Record<string, string>, size = { columns: 100, rows: 30 }, cwd = process.cwd()): void {
    this.tmux('new-session', '-d', '-s', 'bk', '-c', cwd, '-x', String(size.columns), '-y', String(size.rows), this.#command(argv, env));
    this.tmux('set-option', '-t', 'bk', 'remain-on-exit', 'on');
  }

  /** Starts the program again in the same pane (after it died). */
  respawn(argv: string[], env: Record<string, string>): void {
    this.tmux('respawn-pane', '-k', '-t', this.target, this.#command(argv, env));
  }

  #command(argv: string[], env: Record<string, string>): string {
    const vars = Object.entries({ TERM: 'xterm-256color', ...env }).map(([k, v]) => `${k}=${shellQuote(v)}`);
    // exec: the pane's process is boardkube itself, so its pid is the one to kill -9. A person at a terminal
    // has no CI variable; CI's own would make the colour libraries switch colours off.
    return `exec env -u CI ${vars.join(' ')} ${argv.map(shellQuote).join(' ')}`;
  }

  pid(): number {
    return Number(this.tmux('display-message', '-p', '-t', this.target, '#{pane_pid}').trim());
  }

  dead(): boolean {
    return this.tmux('display-message', '-p', '-t', this.target, '#{pane_dead}').trim() === '1';
  }

  capture(escapes = false): string {
    return this.tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.target);
  }

  send(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.target, ...keys);
  }

  /** Literal text (no key names). */
  type(text: string): void {
    this.tmux('send-keys', '-t', this.target, '-l', '--', text);
  }

  resize(columns: number, rows: number): void {
    this.tmux('resize-window', '-t', 'bk', '-x', String(columns), '-y', String(rows));
  }

  async waitFor(match: string | RegExp, timeoutMs = 15_000): Promise<string> {
    let last = '';
    try {
      return await until(() => {
        last = this.capture();
        return (typeof match === 'string' ? last.includes(match) : match.test(last)) ? last : undefined;
      }, `${String(match)}`, timeoutMs);
    } catch (e) {
      throw new Error(`${(e as Error).message}; the screen:\n${last}`);
    }
  }

  /** Waits until two captures a moment apart are the same (a redraw in progress has ended). */
  async settled(): Promise<string> {
    let last = this.capture();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = this.capture();
      if (now === last) return now;
      last = now;
    }
    return last;
  }

  /** Sends a key until the screen matches (each time waiting briefly for a redraw). */
  async pressUntil(key: string, match: (screen: string) => boolean, max = 40): Promise<string> {
    for (let i = 0; i < max; i++) {
      const before = this.capture();
      if (match(before)) return before;
      this.send(key);
      // One key, one redraw: on a loaded machine a redraw can take seconds, and a second key sent before it
      // lands moves past the entry looked for.
      await until(() => this.capture() !== before || undefined, 'a redraw', 5000).catch(() => undefined);
      await this.settled();
    }
    const screen = this.capture();
    if (match(screen)) return screen;
    throw new Error(`pressed ${key} ${max} times; the screen:\n${screen}`);
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      /* already gone */
    }
  }
}

/** Per test: a fresh tmux server and temp folders, all removed after the test (call once per test file). */
export function tmuxPerTest(): { tmux(): Tmux; tempDir(prefix: string): string } {
  let servers: Tmux[] = [];
  let dirs: string[] = [];
  afterEach(() => {
    for (const t of servers) t.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    servers = [];
    dirs = [];
  });
  return {
    tmux: () => {
      const t = new Tmux();
      servers.push(t);
      return t;
    },
    tempDir: (prefix) => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
  };
}

/**
 * Runs a command without blocking this process (test boards' sshd and their reboots live here: a blocked event loop
 * would stall them); kill -9 after `killAfterMs` when given.
 */
/**
 * Runs a command; with `kill`, sends it SIGKILL after that many ms, or once the function first returns true
 * (polled every 50 ms), e.g. when its progress file shows a number of steps done.
 */
export function runAsync(argv: string[], env: Record<string, string>, kill?: number | (() => boolean)): Promise<{ code: number | null; killed: boolean; out: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const timer =
      kill === undefined
        ? undefined
        : typeof kill === 'number'
          ? setTimeout(() => (killed = child.kill('SIGKILL')), kill)
          : setInterval(() => {
              if (!killed && child.exitCode === null && kill()) killed = child.kill('SIGKILL');
            }, 50);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, killed, out: `${stdout}\n${stderr}`, stdout });
    });
  });
}
